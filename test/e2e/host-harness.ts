// End-to-end harness: the real `starling` CLI against the fake Telegram Bot API and a fake model.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitLimit } from "../fakes/wait-limit.js";

export const HOST_MAIN = fileURLToPath(new URL("../../packages/host/dist/main.js", import.meta.url));

export interface HostConfigOptions {
  apiRoot: string;
  modelUrl: string;
  extraModels?: Record<string, unknown>;
  adminUserIds?: number[];
  allowedChatIds?: number[];
  workers?: { idle_shutdown_seconds?: number; max_concurrent_turns?: number; warm_spares?: number };
  recovery?: { max_auto_continues?: number };
  compression?: { threshold: number; retain: number };
  /** Capabilities of the `main` model (default `["chat"]`). */
  mainCapabilities?: string[];
  /** More fields of the `main` model (e.g. `max_output_tokens`). */
  mainModel?: Record<string, unknown>;
  /** Extra fields of the Telegram channel (poll settings, …). */
  channel?: Record<string, unknown>;
  /** Extra top-level config sections (`limits`, `tools`, …). */
  extra?: Record<string, unknown>;
  /** More `session_defaults` fields (helper models, …). */
  sessionDefaults?: Record<string, unknown>;
}

export function writeHostConfig(dir: string, o: HostConfigOptions): string {
  const config = {
    version: "0.4",
    models: {
      main: {
        provider_type: "open_router_completion",
        model_name: "fake-model",
        url: o.modelUrl,
        api_key_env: "FAKE_MODEL_KEY",
        capabilities: o.mainCapabilities ?? ["chat"],
        conn_timeout: 10,
        retry_mode: { random_interval: { max_interval_secs: 0.05, max_retries: 1 } },
        ...o.mainModel,
      },
      ...o.extraModels,
    },
    session_defaults: {
      ...(o.compression ? { compression_threshold_tokens: o.compression.threshold, compression_retain_recent_tokens: o.compression.retain } : {}),
      ...o.sessionDefaults,
    },
    sandbox: { mode: "subprocess", bubblewrap_binary: "bwrap" },
    channels: [
      {
        kind: "telegram",
        id: "tg",
        bot_token_env: "FAKE_TELEGRAM_TOKEN",
        api_base_url: o.apiRoot,
        poll_timeout_seconds: 1,
        poll_interval_ms: 10,
        // Every turn gets its panel at once, so tests of the panel need no turn slower than the default 1 s delay.
        progress_panel_delay_ms: 0,
        // The fake Bot API has no send limits unless a test plugs them in (telegramLimits), and pacing to
        // Telegram's windows (3 sends per 3 s per chat) made every chat's fourth send in 3 s wait: seconds per
        // test, most of all after a restart, which refills the windows from the outbox's send times. Tests of
        // pacing itself set `channel: { pace_sends: true }`.
        pace_sends: false,
        admin_user_ids: o.adminUserIds ?? [],
        allowed_chat_ids: o.allowedChatIds ?? [],
        ...o.channel,
      },
    ],
    workers: { idle_shutdown_seconds: 600, max_concurrent_turns: 4, ...o.workers },
    recovery: { max_auto_continues: 2, ...o.recovery },
    log: { level: "debug" },
    ...o.extra,
  };
  const path = join(dir, "starling.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export interface RunningCli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Worker processes (children of this host), by pid. */
  workerPids: () => number[];
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [HOST_MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    workerPids: () => {
      const ps = spawnSync("ps", ["-o", "pid=,ppid=,args=", "-ax"], { encoding: "utf8" }).stdout;
      return ps
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => Number(f[1]) === child.pid && /worker\/dist\/(main(\.bundle)?\.js|worker\.blob)/.test(f.slice(2).join(" ")))
        .map((f) => Number(f[0]));
    },
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** SIGTERM a host that is still running, SIGKILL if it has not exited within 12 s. */
export async function stopGracefully(host: RunningCli | null): Promise<void> {
  if (!host || host.child.exitCode !== null || host.child.signalCode !== null) return;
  const killer = setTimeout(() => host.child.kill("SIGKILL"), 12_000);
  await host.stop("SIGTERM");
  clearTimeout(killer);
}

export function tempDir(prefix = "starling-e2e-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function until<T>(fn: () => T | undefined | null | false, timeoutMs = 45_000, what = "condition"): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > waitLimit(timeoutMs)) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs a short CLI command to completion: exit code and everything it printed. */
export async function runCliOnce(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const cli = startCli(args, env, options);
  const timer = setTimeout(() => cli.child.kill("SIGKILL"), options.timeoutMs ?? 60_000); // only detects a hang; a loaded machine may need 20 s
  const exit = await cli.exited;
  clearTimeout(timer);
  return { ...exit, output: cli.output() };
}

/** Pids of processes whose command line contains `needle` (the `ps` calling this excluded). */
export function processesMatching(needle: string): number[] {
  const ps = spawnSync("ps", ["-o", "pid=,args=", "-ax"], { encoding: "utf8" }).stdout;
  return ps
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.includes(needle) && !/^\d+\s+ps\s/.test(l))
    .map((l) => Number(l.split(/\s+/)[0]));
}
