// Starting the real `starling` host (and the floor bot) as child processes for Part B, and
// finding its worker processes through /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { childEnv, sleep } from "./proc.js";

/** PROBE_HOST_MAIN names another build of the host (e.g. a copy of dist made before a change, for a back-to-back pair). */
export const HOST_MAIN = process.env["PROBE_HOST_MAIN"] ?? fileURLToPath(new URL("../../packages/host/dist/main.js", import.meta.url));
const FLOOR_BOT = fileURLToPath(new URL("./floor-bot.mjs", import.meta.url));

export const BOT_TOKEN_ENV = "BENCH_TELEGRAM_TOKEN";
export const MODEL_KEY_ENV = "FAKE_MODEL_KEY";
export const MODEL_KEY = "test-key";

export interface HostConfigOptions {
  modelUrl: string;
  apiRoot: string;
  adminUserIds: number[];
  allowedChatIds: number[];
  maxConcurrentTurns: number;
  idleShutdownSeconds: number;
  pollIntervalMs: number;
  /** Keep Telegram's send limits in the host (default: off, like the floor bot, which does not pace). */
  telegramLimits?: boolean;
}

/** A Stellaclaw-0.4-shaped config (like example_config.json) pointed at the fakes. */
export function hostConfig(o: HostConfigOptions): Record<string, unknown> {
  return {
    version: "0.4",
    models: {
      main: {
        provider_type: "open_router_completion",
        model_name: "fake-model",
        url: o.modelUrl,
        api_key_env: MODEL_KEY_ENV,
        capabilities: ["chat"],
        token_max_context: 1048576,
        conn_timeout: 10,
        retry_mode: { random_interval: { max_interval_secs: 0.1, max_retries: 1 } },
      },
    },
    session_defaults: { compression_threshold_tokens: 180000, compression_retain_recent_tokens: 36000 },
    sandbox: { mode: "subprocess" },
    channels: [
      {
        kind: "telegram",
        id: "telegram-main",
        bot_token_env: BOT_TOKEN_ENV,
        api_base_url: o.apiRoot,
        poll_timeout_seconds: 10,
        poll_interval_ms: o.pollIntervalMs,
        // The floor bot does not pace its sends and the fake enforces no limit: the host gets the same.
        pace_sends: o.telegramLimits ?? false,
        admin_user_ids: o.adminUserIds,
        allowed_chat_ids: o.allowedChatIds,
      },
    ],
    workers: { idle_shutdown_seconds: o.idleShutdownSeconds, max_concurrent_turns: o.maxConcurrentTurns },
    recovery: { max_auto_continues: 2 },
    // The bench measures overhead, not the abuse limits: 40 rounds in one chat and the 1 000-chat flood must not be refused.
    limits: { per_chat_messages_per_minute: 1_000_000, max_queued_turns: 1_000_000 },
    log: { level: "info" },
  };
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** The last lines of stdout/stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

function track(child: ChildProcess): RunningProcess {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.once("error", (err) => lines.push(`spawn error: ${err.message}`));
  return {
    child,
    pid: child.pid ?? -1,
    tail: () => lines.join("\n"),
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A probe's teardown: the reply watcher, the host (SIGKILL after 15 s), the fakes, then its folder (kept with PROBE_KEEP=1, to read its logs). */
export async function closeProbe(o: { watcher: { stop(): void }; host: RunningProcess; fakes: { close(): Promise<unknown> }[]; dir: string }): Promise<void> {
  o.watcher.stop();
  await o.host.stop(15_000);
  await Promise.all(o.fakes.map((f) => f.close()));
  if (process.env["PROBE_KEEP"] === "1") console.log(`kept ${o.dir}`);
  else rmSync(o.dir, { recursive: true, force: true });
}

/** Checks that the host binary starts at all (`--help`); returns the error text when it does not. */
export async function hostRunnable(): Promise<string | null> {
  if (!existsSync(HOST_MAIN)) return `${HOST_MAIN} does not exist (build first)`;
  const p = track(spawn(process.execPath, [HOST_MAIN, "--help"], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] }));
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 15_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code === 0 ? null : `\`node packages/host/dist/main.js --help\` exited ${code}: ${p.tail().split("\n").slice(0, 6).join(" | ")}`;
}

/**
 * Starts `node [nodeArgs] packages/host/dist/main.js --config <dir>/config.json --workdir <dir>/workdir`,
 * under `wrapper` when given (e.g. strace; then `pid` is the wrapper's).
 */
export function startHost(dir: string, config: Record<string, unknown>, token: string, nodeArgs: string[] = [], wrapper: string[] = []): RunningProcess {
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, "config.json");
  const workdir = join(dir, "workdir");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const env = childEnv({ [BOT_TOKEN_ENV]: token, [MODEL_KEY_ENV]: MODEL_KEY });
  // As the systemd unit starts it (HOST_NODE_FLAGS in packages/host/src/worker-path.ts).
  const argv = [process.execPath, "--max-semi-space-size=8", "--single-threaded-gc", "--interrupt-budget=270336", "--compact-on-every-full-gc", ...nodeArgs, HOST_MAIN, "--config", configPath, "--workdir", workdir];
  const [command, ...args] = [...wrapper, ...argv] as [string, ...string[]];
  return track(spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] }));
}

export function startFloorBot(apiRoot: string, token: string, modelUrl: string): RunningProcess {
  const env = childEnv({ BENCH_API_ROOT: apiRoot, BENCH_BOT_TOKEN: token, BENCH_MODEL_URL: modelUrl, BENCH_MODEL_KEY: MODEL_KEY });
  return track(spawn(process.execPath, [FLOOR_BOT], { env, stdio: ["pipe", "pipe", "pipe"] }));
}

/** Pids whose parent is `pid` (the host's workers, spawned directly or via a wrapper). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Every descendant of `pid`, depth first (a sandbox wrapper may sit between host and worker). */
export function descendants(pid: number): number[] {
  const kids = childPids(pid);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

/** Descendant processes running the worker entry point. */
export function workerPids(hostPid: number): number[] {
  return descendants(hostPid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("worker");
    } catch {
      return false;
    }
  });
}

export function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/** Resolves when `check` returns true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, label: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(everyMs);
  }
}
