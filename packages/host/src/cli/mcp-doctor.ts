import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { type BubblewrapProbe, INSTALL_BUBBLEWRAP_HINT, toolCommand, type ToolCommand, toolEnvironment, type ToolSandbox } from "@starling/protocol";
import type { McpServerConfig, StarlingConfig } from "@starling/config";
import { hostSettings } from "../host.js";
import { toolSandbox, workerEnvironment } from "../security/worker-security.js";

interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  next?: string;
}

const PROBE_TIMEOUT_MS = 15_000;
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "starling-doctor", version: "1" } },
};

/** What doctor knows of the host it checks: where it keeps state, and the files the host would hide from tools. */
export interface McpDoctorHost {
  workdir: string;
  configPath: string;
  envPath: string;
  /** The config's secrets read together with the env file (as `starling run` reads them). */
  env: NodeJS.ProcessEnv;
  /** Whether bwrap runs here: one probe per doctor run, shared with the sandbox checks. */
  bubblewrap: () => Promise<BubblewrapProbe>;
}

/** How a conversation's worker would start a stdio server: its sandbox and the tools' environment. */
interface StdioLaunch {
  sandbox: ToolSandbox;
  baseEnv: NodeJS.ProcessEnv;
  secrets: { names: string[]; values: string[] };
}

/**
 * One check per MCP server: its secrets are set, and it really answers `initialize` and `tools/list`.
 * A stdio server is started for that exactly as a conversation's worker would start it in the config's
 * sandbox mode (same environment, in bubblewrap mode the same bwrap arguments and masks, with a fresh
 * empty workspace), then stopped: a server kept where the agent can write (shared/, a workspace) must
 * not run outside the sandbox when the operator runs doctor. If bubblewrap cannot run, no stdio server is started.
 */
export async function mcpChecks(config: StarlingConfig, secret: (name: string) => string | undefined, host: McpDoctorHost): Promise<Check[]> {
  const checks: Check[] = [];
  // The host's own settings, so the sandbox, the environment and the secrets withheld are the ones its workers get.
  const settings = hostSettings(config, host.workdir, host.env, [host.configPath, host.envPath]);
  const secretMap = settings.secrets ?? {};
  const launch: StdioLaunch = {
    sandbox: toolSandbox(settings, config.sandbox.mode),
    baseEnv: workerEnvironment(settings),
    secrets: { names: Object.keys(secretMap), values: Object.values(secretMap) },
  };
  const stdio = Object.values(config.mcp_servers).some((server) => !server.url);
  const bwrap = stdio && launch.sandbox.mode === "bubblewrap" ? await host.bubblewrap() : { ok: true as const };
  for (const [name, server] of Object.entries(config.mcp_servers)) {
    const label = `mcp ${name}`;
    const names = Object.values(server.url ? server.headers_env : server.secret_env);
    const missing = names.filter((n) => !secret(n));
    if (missing.length) {
      checks.push({ name: label, status: "fail", detail: `${missing.join(", ")} not set (env file or environment)`, next: `add ${missing[0]}=… to ${host.envPath}` });
      continue;
    }
    const off = server.enabled ? "" : " (disabled in the config; /mcp enable turns it on per conversation)";
    if (!server.url && !bwrap.ok) {
      checks.push({
        name: label,
        status: server.enabled ? "fail" : "warn",
        detail: `not started: conversations run it only inside the bubblewrap sandbox, which cannot start here (${bwrap.problem})${off}`,
        next: `${INSTALL_BUBBLEWRAP_HINT} (or set sandbox.mode to "subprocess")`,
      });
      continue;
    }
    try {
      const tools = server.url ? await probeHttp(server, secret) : await probeStdio(server, secret, launch);
      const how = server.url ? "" : launch.sandbox.mode === "bubblewrap" ? " (started in the bubblewrap sandbox)" : " (subprocess mode: started unsandboxed, as your user)";
      checks.push({ name: label, status: "ok", detail: `connected, ${tools} tools${how}${off}` });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      checks.push({ name: label, status: server.enabled ? "fail" : "warn", detail: `cannot connect: ${why}`, next: server.url ? `check mcp_servers.${name}.url and headers_env` : `check mcp_servers.${name}.command/args: run it by hand and see its stderr` });
    }
  }
  return checks;
}

async function probeHttp(server: McpServerConfig, secret: (name: string) => string | undefined): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream", ...server.headers };
  for (const [header, variable] of Object.entries(server.headers_env)) headers[header] = secret(variable)!;
  const post = async (body: unknown, session?: string) => {
    const res = await fetch(server.url!, { method: "POST", headers: { ...headers, ...(session ? { "mcp-session-id": session } : {}) }, body: JSON.stringify(body), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 401 || res.status === 403 ? " (the server refused the headers)" : ""}`);
    const text = await res.text();
    const data = text.trim().startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}");
    return { message: JSON.parse(data) as { result?: { tools?: unknown[] }; error?: { message: string } }, session: res.headers.get("mcp-session-id") ?? session };
  };
  const init = await post(INITIALIZE);
  if (init.message.error) throw new Error(init.message.error.message);
  await fetch(server.url!, { method: "POST", headers: { ...headers, ...(init.session ? { "mcp-session-id": init.session } : {}) }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) }).catch(() => undefined);
  const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, init.session ?? undefined);
  return list.message.result?.tools?.length ?? 0;
}

async function probeStdio(server: McpServerConfig, secret: (name: string) => string | undefined, launch: StdioLaunch): Promise<number> {
  // A conversation's workspace stand-in: empty, removed afterwards. A relative cwd is inside it, as in a worker.
  const workspace = mkdtempSync(join(tmpdir(), "starling-doctor-mcp-"));
  try {
    const cwd = server.cwd ? resolve(workspace, server.cwd) : workspace;
    if (server.cwd && !isAbsolute(server.cwd)) mkdirSync(cwd, { recursive: true });
    else if (!existsSync(cwd)) throw new Error(`its cwd ${cwd} does not exist`);
    const secretEnv: Record<string, string> = {};
    for (const [variable, name] of Object.entries(server.secret_env)) secretEnv[variable] = secret(name)!;
    const env = toolEnvironment(workspace, launch.sandbox, launch.secrets, launch.baseEnv);
    const command = toolCommand({ workspace, sandbox: launch.sandbox, env }, [server.command!, ...server.args], cwd, server.env, secretEnv);
    return await listTools(command);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

/** Starts `command`, asks for `initialize` and `tools/list`, and kills it: the number of tools it lists. */
function listTools(command: ToolCommand): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.program, command.args, { env: command.env, cwd: command.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    const done = (error: Error | null, tools = 0) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      if (error) reject(error);
      else resolve(tools);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s${stderr ? `; stderr: ${stderr.trim().slice(-300)}` : ""}`)), PROBE_TIMEOUT_MS);
    child.on("error", (error) => done(error));
    // A server that exits at once (EPIPE on our first write) is reported by its exit below, not thrown out of doctor.
    child.stdin.on("error", () => undefined);
    child.on("exit", (code, signal) => done(new Error(`exited (${signal ?? `code ${code}`})${stderr ? `; stderr: ${stderr.trim().slice(-300)}` : ""}`)));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      let message: { id?: number; result?: { tools?: unknown[] }; error?: { message: string } };
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.error) return done(new Error(message.error.message));
      if (message.id === 1) {
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })}\n`);
      } else if (message.id === 2) done(null, message.result?.tools?.length ?? 0);
    });
    child.stdin.write(`${JSON.stringify(INITIALIZE)}\n`);
  });
}
