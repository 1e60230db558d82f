import { accessSync, chmodSync, constants, existsSync, mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { mcpChecks } from "./mcp-doctor.js";
import { hiddenLinksCheck } from "./hidden-links.js";
import { hiddenThroughLinksCheck } from "./hidden-through-links.js";
import { storedSandboxModes } from "./stored-sandbox-modes.js";
import { hostSettings } from "../host.js";
import type { SandboxMode } from "../state/records.js";
import { join, resolve } from "node:path";
import { loadConfig, mergedEnv, readEnvFile, type StarlingConfig } from "@starling/config";
import { type BubblewrapProbe, INSTALL_BUBBLEWRAP_HINT, probeBubblewrap, probePidNamespace, wellKnownSecretPaths } from "@starling/protocol";
import { probeModel, probeTelegram } from "./probes.js";
import { serviceState } from "./service.js";
import { storeHealthCheck } from "../state/store-health.js";
import { findCodexAuth } from "../models/codex-auth.js";
import { jwtExpiresAtMs } from "@starling/protocol";

export interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  /** What was checked and what was found. */
  detail: string;
  /** The exact command (or edit) that fixes it. */
  next?: string;
}

interface DoctorCommand {
  config: string;
  workdir: string;
  envFile: string;
  fix: boolean;
}

const MIN_FREE_BYTES = 1024 ** 3;

/**
 * `starling doctor`: config, env file, bot tokens (getMe), every model key, sandbox, workdir, disk,
 * service. Exit 0 when all is well, 1 with problems, 78 when the config itself is bad.
 */
export async function runDoctor(command: DoctorCommand): Promise<number> {
  const configPath = resolve(command.config);
  const workdir = resolve(command.workdir);
  const flags = `--config ${configPath} --workdir ${workdir}`;
  const checks: Check[] = [];
  const envRead = readEnvFile(command.envFile);
  const fileValues = envRead.ok ? envRead.values : {};
  const env = mergedEnv(fileValues, process.env);

  // Secrets are checked below with better hints, so the config check is about the file itself.
  const loaded = loadConfig(configPath, { env, checkSecrets: false, writeUpgrade: command.fix });
  for (const warning of loaded.warnings) checks.push({ name: "config", status: "warn", detail: warning });
  if (!loaded.ok) {
    for (const error of loaded.errors) checks.push({ name: "config", status: "fail", detail: error, next: `edit ${configPath}, then: starling doctor ${flags}` });
    print(checks);
    return 78;
  }
  const config = loaded.config;
  checks.push({
    name: "config",
    status: "ok",
    detail: loaded.upgradedFrom ? `${configPath} upgraded from ${loaded.upgradedFrom} (original in ${loaded.backupPath})` : `${configPath} is valid`,
  });
  checks.push(envFileCheck(envRead, command, flags));

  const secret = (name: string | undefined) => (name ? env[name] || undefined : undefined);
  const missingSecret = (name: string): Check["next"] =>
    `add ${name}=… to ${envRead.path} (chmod 600), then: starling doctor ${flags}`;
  for (const channel of config.channels) {
    if (channel.kind === "web") {
      const set = secret(channel.token_env) !== undefined;
      checks.push({ name: `web ${channel.id}`, status: set ? "ok" : "fail", detail: set ? `listens on ${channel.bind_addr}` : `${channel.token_env} is not set (env file or environment)`, ...(set ? {} : { next: missingSecret(channel.token_env) }) });
      continue;
    }
    const token = secret(channel.bot_token_env);
    if (!token) {
      checks.push({ name: `telegram ${channel.id}`, status: "fail", detail: `${channel.bot_token_env} is not set (env file or environment)`, next: missingSecret(channel.bot_token_env) });
      continue;
    }
    const probe = await probeTelegram(token, channel.api_base_url, channel.bot_token_env);
    checks.push({
      name: `telegram ${channel.id}`,
      status: probe.ok ? "ok" : "fail",
      detail: probe.detail,
      ...(probe.ok ? {} : { next: probe.rejected ? `get the token from @BotFather (/token), put it in ${envRead.path} as ${channel.bot_token_env}=…` : `check that ${channel.api_base_url} is reachable from here (proxy, firewall, DNS)` }),
    });
  }
  for (const [alias, model] of Object.entries(config.models)) {
    if (model.provider_type === "codex_subscription") {
      checks.push(codexCheck(alias, model.api_key_env, env, envRead.path));
      continue;
    }
    const key = secret(model.api_key_env);
    if (model.api_key_env && !key) {
      const chat = model.capabilities.includes("chat");
      checks.push({ name: `model ${alias}`, status: chat ? "fail" : "warn", detail: `${model.api_key_env} is not set (env file or environment)`, next: missingSecret(model.api_key_env) });
      continue;
    }
    const probe = await probeModel(alias, model, key);
    checks.push({
      name: `model ${alias}`,
      status: probe.ok ? "ok" : "fail",
      detail: probe.detail,
      ...(probe.ok ? {} : { next: probe.rejected ? `put the right key in ${envRead.path} as ${model.api_key_env ?? "the api_key_env variable"}=…` : `check models.${alias}.url in ${configPath} and that the server is up` }),
    });
  }
  // bwrap is run once per doctor run, whichever checks need it (MCP servers, each sandbox mode in use).
  let probed: Promise<BubblewrapProbe> | null = null;
  const bubblewrap = () => (probed ??= probeBubblewrap(config.sandbox.bubblewrap_binary, { network: config.sandbox.network }));
  checks.push(...(await mcpChecks(config, (name) => secret(name), { workdir, configPath, envPath: envRead.path, env, bubblewrap })));
  checks.push(...(await sandboxChecks(config, workdir, bubblewrap)));
  // What workers are told to hide (the config and env file, sandbox.hidden_paths) and the well-known secrets.
  const hidden = hostSettings(config, workdir, env, [configPath, envRead.path]).sandbox.hiddenPaths;
  const links = hiddenLinksCheck([...(hidden ?? []), ...wellKnownSecretPaths()]);
  if (links) checks.push(links);
  const through = hiddenThroughLinksCheck(config.sandbox.hidden_paths, [join(workdir, "conversations"), join(workdir, "rundir", "shared")]);
  if (through) checks.push(through);
  checks.push(workdirCheck(workdir, command.fix, flags));
  checks.push(diskCheck(workdir));
  const storage = storeHealthCheck(workdir);
  if (storage) checks.push({ name: "store", ...storage });
  checks.push(serviceCheck(flags));
  print(checks);
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}

function envFileCheck(read: ReturnType<typeof readEnvFile>, command: DoctorCommand, flags: string): Check {
  if (!read.ok) return { name: "env file", status: "fail", detail: read.error, next: `chmod 600 ${read.path} and make it readable by you` };
  if (!read.found) {
    return { name: "env file", status: "warn", detail: `${read.path} does not exist; secrets must come from the environment`, next: `starling init ${flags} (or create the file with NAME=value lines, mode 600)` };
  }
  if (read.tooOpen) {
    if (command.fix) {
      chmodSync(read.path, 0o600);
      return { name: "env file", status: "ok", detail: `${read.path}: fixed its mode to 600` };
    }
    return { name: "env file", status: "fail", detail: `${read.path} can be read by other users`, next: `chmod 600 ${read.path}  (or: starling doctor ${flags} --fix)` };
  }
  return { name: "env file", status: "ok", detail: `${read.path} (mode 600, ${Object.keys(read.values).length} variables)` };
}

/**
 * The config's sandbox mode, and each other mode conversations were switched to with `/sandbox` (stored
 * in their records): whether it really works here (bwrap is run with the namespaces tools use) or what it exposes.
 */
async function sandboxChecks(config: StarlingConfig, workdir: string, bubblewrap: () => Promise<BubblewrapProbe>): Promise<Check[]> {
  const checks = [await sandboxCheck(config, config.sandbox.mode, bubblewrap, "")];
  const stored = await storedSandboxModes(workdir);
  if (!stored.ok) {
    checks.push({ name: "sandbox", status: "warn", detail: `cannot read the conversations' /sandbox settings from ${join(workdir, "state", "host")}: ${stored.problem}` });
    return checks;
  }
  const other: SandboxMode = config.sandbox.mode === "bubblewrap" ? "subprocess" : "bubblewrap";
  const ids = stored.overrides.filter((o) => o.mode === other).map((o) => o.id);
  if (ids.length > 0) {
    const who = `${ids.length} conversation${ids.length === 1 ? "" : "s"} switched to ${other} with /sandbox (${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ", …" : ""})`;
    checks.push(await sandboxCheck(config, other, bubblewrap, who));
  }
  return checks;
}

/** One sandbox mode: `who` names the conversations in it when it is not the config's. */
async function sandboxCheck(config: StarlingConfig, mode: SandboxMode, bubblewrap: () => Promise<BubblewrapProbe>, who: string): Promise<Check> {
  const name = who ? `sandbox ${mode}` : "sandbox";
  const lead = who ? `${who}: ` : "";
  if (mode === "bubblewrap") {
    const probe = await bubblewrap();
    return probe.ok
      ? { name, status: "ok", detail: `${lead}bubblewrap works: each tool process runs in its own sandbox; ${hiddenNote(config)} (docs/SECURITY.md)` }
      : { name, status: "fail", detail: `${lead}${probe.problem}`, next: `${INSTALL_BUBBLEWRAP_HINT} (or ${who ? "/sandbox subprocess in those conversations" : 'set sandbox.mode to "subprocess"'})` };
  }
  return {
    name,
    status: "warn",
    detail:
      `${lead}subprocess mode is for trusted use: tools run as your user, so every file you can read is readable to the agent` +
      `${config.sandbox.hidden_paths.length > 0 ? " (the file tools refuse sandbox.hidden_paths, but shell commands can read them: they are masked only in bubblewrap mode)" : ""}; ${await pidNamespaceNote(config)}`,
    next: who ? "/sandbox bubblewrap in those conversations to isolate their tools (docs/SECURITY.md)" : `set sandbox.mode to "bubblewrap" to isolate tools (docs/SECURITY.md)`,
  };
}

/** What bubblewrap masks on this machine now: the well-known secrets found here and `sandbox.hidden_paths` (one absent now is masked once it appears). */
function hiddenNote(config: StarlingConfig): string {
  const known = wellKnownSecretPaths().filter((p) => existsSync(p)).length;
  const listed = config.sandbox.hidden_paths;
  const absent = listed.filter((p) => !existsSync(p));
  const own =
    listed.length === 0
      ? "no sandbox.hidden_paths"
      : `${listed.length - absent.length} of ${listed.length} sandbox.hidden_paths${absent.length > 0 ? ` (not there yet, hidden once they appear: ${absent.join(", ")})` : ""}`;
  return `hidden from tools: ${known} well-known secret files and folders found here and ${own}`;
}

/** Whether subprocess mode's shell commands get their PID namespace here (sandbox.pid_namespace), and what that means. */
async function pidNamespaceNote(config: StarlingConfig): Promise<string> {
  if (!config.sandbox.pid_namespace) {
    return "sandbox.pid_namespace is off: commands see your other processes (and their memory), and /cancel cannot stop what leaves a command's process group";
  }
  const probe = await probePidNamespace();
  return probe.ok
    ? "shell commands run in a PID namespace: /cancel stops everything they start, and they cannot see your other processes"
    : `shell commands will run WITHOUT a PID namespace (${probe.problem}): they see your other processes (and their memory), and /cancel cannot stop what leaves a command's process group`;
}

function workdirCheck(workdir: string, fix: boolean, flags: string): Check {
  try {
    if (fix) mkdirSync(workdir, { recursive: true });
    accessSync(workdir, constants.W_OK);
    const probe = join(workdir, `.doctor-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    return { name: "workdir", status: "ok", detail: `${workdir} is writable` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? { name: "workdir", status: "fail", detail: `${workdir} does not exist`, next: `starling doctor ${flags} --fix  (creates it)` }
      : { name: "workdir", status: "fail", detail: `${workdir} is not writable (${code ?? (err as Error).message})`, next: `fix its owner or mode: sudo chown -R $USER ${workdir}` };
  }
}

function diskCheck(workdir: string): Check {
  let path = workdir;
  for (;;) {
    try {
      const stats = statfsSync(path);
      const free = stats.bavail * stats.bsize;
      const gib = (free / 1024 ** 3).toFixed(1);
      return free < MIN_FREE_BYTES
        ? { name: "disk", status: "warn", detail: `only ${gib} GiB free under ${path}`, next: "free some space: sessions and logs grow with use" }
        : { name: "disk", status: "ok", detail: `${gib} GiB free under ${path}` };
    } catch {
      const parent = resolve(path, "..");
      if (parent === path) return { name: "disk", status: "warn", detail: "cannot tell the free space" };
      path = parent;
    }
  }
}

function serviceCheck(flags: string): Check {
  const state = serviceState();
  if (state.kind === "no-systemctl") return { name: "service", status: "ok", detail: "systemctl not available here (run the host in the foreground or under your own supervisor)" };
  if (state.kind === "not-installed") return { name: "service", status: "ok", detail: "not installed", next: `starling service install ${flags}` };
  if (state.active === "active") return { name: "service", status: "ok", detail: `starling.service is active (${state.unitPath})` };
  return { name: "service", status: "warn", detail: `starling.service is ${state.active}`, next: "journalctl --user -u starling -n 50 --no-pager" };
}

function print(checks: Check[]): void {
  const label = { ok: "ok  ", warn: "warn", fail: "FAIL" };
  for (const c of checks) {
    process.stdout.write(`${label[c.status]}  ${c.name}: ${c.detail}\n`);
    if (c.next && c.status !== "ok") process.stdout.write(`      next: ${c.next}\n`);
  }
  const failed = checks.filter((c) => c.status === "fail").length;
  process.stdout.write(failed ? `${failed} problem${failed > 1 ? "s" : ""} found\n` : "all checks passed\n");
}

/** A codex_subscription model: a ChatGPT sign-in is found (where it looked otherwise); nothing is sent to OpenAI. */
function codexCheck(alias: string, apiKeyEnv: string | undefined, env: NodeJS.ProcessEnv, envFile: string): Check {
  try {
    const found = findCodexAuth(env, apiKeyEnv);
    const where = found.source.kind === "file" ? `${found.source.label} (${found.source.path})` : found.source.label;
    const expiresAt = jwtExpiresAtMs(found.accessToken);
    const expiry = expiresAt === undefined ? "" : expiresAt > Date.now() ? `, token valid until ${new Date(expiresAt).toISOString()}` : ", token expired";
    const refresh = found.refreshToken ? "; the host refreshes it" : "; no refresh token: sign in again when it expires";
    return { name: `model ${alias}`, status: found.refreshToken || (expiresAt ?? Infinity) > Date.now() ? "ok" : "fail", detail: `ChatGPT sign-in from ${where}${expiry}${refresh}` };
  } catch (err) {
    return {
      name: `model ${alias}`,
      status: "fail",
      detail: err instanceof Error ? err.message : String(err),
      next: `run \`codex login\` as the user Starling runs as, or set CODEX_HOME or CODEX_AUTH_JSON in ${envFile}`,
    };
  }
}
