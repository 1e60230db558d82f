import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { ToolError } from "../errors.js";
import { SSH_CONFIG_ENV, sshAliasProblem, sshConfigArgs, sshEnv as protocolSshEnv } from "@starling/protocol";
import { killMasters, resolvedControlPath } from "./stuck-master.js";

/** Seconds ssh waits for a connection (`-o ConnectTimeout`). */
export const CONNECT_TIMEOUT_S = 10;
/** Seconds an idle master connection stays up for reuse (`-o ControlPersist`). */
export const CONTROL_PERSIST_S = 60;
/** Longest one remote file operation may take, connection included. */
export const REMOTE_OP_TIMEOUT_MS = 120_000;
/**
 * Most bytes `runSsh` collects from stdout; past it ssh is killed. Room for the helper's largest answers
 * (an 8 MB file for edit/apply_patch, JSON-escaped; 100 000 walked entries) without letting a remote
 * file or command of any size grow the worker's memory.
 */
export const MAX_SSH_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Seconds between ssh's keepalive probes on a connection that went quiet (`-o ServerAliveInterval`). */
export const SERVER_ALIVE_INTERVAL_S = 15;
/** Unanswered probes ssh allows: it gives up at the next one (`-o ServerAliveCountMax`). */
export const SERVER_ALIVE_COUNT_MAX = 2;
/** Test-only: another ServerAliveInterval in seconds (a whole number ≥ 1), so a silent connection is given up in seconds. */
export const SSH_ALIVE_ENV = "STARLING_TEST_SSH_ALIVE_SECONDS";

/** The keepalive interval in seconds: SERVER_ALIVE_INTERVAL_S, or the test override. */
export function aliveIntervalS(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SSH_ALIVE_ENV];
  if (raw === undefined || raw === "") return SERVER_ALIVE_INTERVAL_S;
  if (!/^[1-9]\d{0,4}$/.test(raw)) throw new ToolError("failed", `${SSH_ALIVE_ENV} must be a whole number of seconds ≥ 1 (it is ${JSON.stringify(raw)}); unset it for the default ${SERVER_ALIVE_INTERVAL_S}.`);
  return Number(raw);
}

/**
 * Seconds of silence after which each side gives a connection up (45 by default): ssh probes after
 * an interval without a byte from the server and quits at the probe after SERVER_ALIVE_COUNT_MAX
 * unanswered ones; the remote shell wrapper stops a command that heard nothing from us for as long.
 */
export function silentLimitS(env: NodeJS.ProcessEnv = process.env): number {
  return aliveIntervalS(env) * (SERVER_ALIVE_COUNT_MAX + 1);
}

/**
 * Seconds without a byte from the remote side after which the worker gives an operation up itself (60 by default):
 * the remote wrapper and helper write ALIVE_BYTE on stderr every heartbeatMs(), so only a connection that forwards
 * nothing is this quiet. One keepalive interval past silentLimitS(): a silent network stays ssh's to report, at
 * silentLimitS(); this catches what ssh's keepalive cannot, a local ControlMaster that accepts the multiplexed
 * connection and never forwards (stopped, wedged), which no ssh timeout covers.
 */
export function answerLimitS(env: NodeJS.ProcessEnv = process.env): number {
  return silentLimitS(env) + aliveIntervalS(env);
}

/** What the remote wrapper and helper write on stderr as their heartbeat (ACK); filtered out of what is kept. */
export const ALIVE_BYTE = 0x06;

/** `chunk` without ALIVE_BYTE. */
export function withoutAlive(chunk: Buffer): Buffer {
  return chunk.includes(ALIVE_BYTE) ? Buffer.from(chunk.filter((byte) => byte !== ALIVE_BYTE)) : chunk;
}

/**
 * Where the ControlMaster sockets live: a private (0700, our uid, not a symlink) folder under the
 * system temp dir. Short on purpose: a Unix socket path must fit in ~100 bytes. Tools in the
 * bubblewrap sandbox get their own /tmp, so they cannot reach these sockets.
 */
export function controlDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `starling-ssh-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (!info.isDirectory() || info.isSymbolicLink() || info.uid !== uid || (info.mode & 0o077) !== 0) {
    throw new ToolError("failed", `The ssh control folder ${dir} is not a private folder of this user (mode 0700, owned by uid ${uid}); remove it and try again.`);
  }
  return dir;
}

/**
 * Arguments of `ssh` for running `remoteCommand` on `alias`. BatchMode (never a password prompt),
 * ConnectTimeout, ControlMaster/ControlPersist so consecutive calls reuse one connection, and no agent,
 * X11 or port forwarding whatever the ssh_config says. StrictHostKeyChecking and everything else come
 * from the user's ssh_config. The env variable
 * STARLING_SSH_CONFIG names another ssh_config file (`ssh -F`), e.g. for tests.
 */
export function sshArgs(alias: string, remoteCommand: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const problem = sshAliasProblem(alias);
  if (problem) throw new ToolError("invalid_arguments", `remote host ${JSON.stringify(alias)} must be a safe ~/.ssh/config Host alias: ${problem}.`);
  return [
    ...sshConfigArgs(env),
    "-T",
    "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${CONNECT_TIMEOUT_S}`,
    "-o", "ControlMaster=auto",
    ...controlPathOption(),
    "-o", `ControlPersist=${CONTROL_PERSIST_S}`,
    "-o", `ServerAliveInterval=${aliveIntervalS(env)}`,
    "-o", `ServerAliveCountMax=${SERVER_ALIVE_COUNT_MAX}`,
    // The agent runs commands on the remote side: a forwarded ssh agent, X11 display or port would hand it the
    // operator's keys or local services there. Command-line options win over any ssh_config.
    "-o", "ForwardAgent=no",
    "-o", "ForwardX11=no",
    "-o", "ClearAllForwardings=yes",
    "--",
    alias,
    remoteCommand,
  ];
}

function controlPathOption(): string[] {
  return ["-o", `ControlPath=${join(controlDir(), "%C")}`];
}

/**
 * Kills the ControlMaster of `alias` after an operation through it heard nothing for answerLimitS() (the caller
 * has killed its own ssh first: a multiplexing client whose master dies mid-handshake falls back to a connection of
 * its own and would run the command after all), unless a probe through it still runs (masterForwards). A master that
 * stopped forwarding serves nobody; its remote side sees the connection close and stops what ran through it. The next
 * operation opens a new master.
 */
export async function closeStuckMaster(alias: string, env: NodeJS.ProcessEnv = process.env): Promise<number[]> {
  // One master serves every worker's operations on the host: one that still forwards is not the stuck part (the
  // remote side of this operation is, e.g. a wrapper blocked on a hung mount), and killing it would cut the others.
  if (await masterForwards(alias, env)) return [];
  const socket = await resolvedControlPath([...sshConfigArgs(env), ...controlPathOption(), "--", alias], sshEnv());
  return socket ? killMasters(socket) : [];
}

/**
 * Whether `true` runs on `alias` through its master within a keepalive interval (5 s at most): a master that answers
 * forwards. `ControlMaster=no` (the first value wins) so the probe never becomes a master itself. A probe still
 * waiting is killed, and awaited, before the caller kills the master (it would fall back to a connection of its own).
 */
function masterForwards(alias: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const limitMs = Math.min(aliveIntervalS(env), 5) * 1000;
  return new Promise((resolve) => {
    const probe = spawn("ssh", ["-o", "ControlMaster=no", ...sshArgs(alias, "true", env)], { env: sshEnv(), stdio: "ignore", detached: true });
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      try {
        if (probe.pid) process.kill(-probe.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, limitMs);
    probe.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    probe.once("exit", (code) => {
      clearTimeout(timer);
      resolve(!late && code === 0);
    });
  });
}

/** The connection of an operation went silent for `seconds` (answerLimitS): it was closed; `outcome` says what that means for the call. */
export class ConnectionLost extends ToolError {
  constructor(
    readonly host: string,
    readonly seconds: number,
    outcome = `The operation's outcome is unknown: check on ${host} whether it took effect before repeating it.`,
  ) {
    super(
      "failed",
      `The connection to SSH host ${host} was lost: nothing was heard from it for ${seconds} s (a stuck local ssh connection or a silent network). ` +
        `It was closed, so the next call opens a new one. ${outcome}`,
    );
  }
}

/** The environment of every ssh process: the tools' allowlist plus SSH_AUTH_SOCK (see @starling/protocol). */
export function sshEnv(): Record<string, string> {
  return protocolSshEnv(process.env);
}

/** A string as one single-quoted word for the remote user's POSIX shell. */
export function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface SshResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `remoteCommand` on `alias` with `input` on its stdin and collects the output. The local ssh
 * runs in its own process group, killed on abort, after `timeoutMs` or once stdout passes
 * MAX_SSH_OUTPUT_BYTES (closing the connection's channel ends the remote command); the error names the host.
 * After answerLimitS() (or `timeoutMs`, if shorter) without a byte on stdout or stderr it is killed too, with the
 * ControlMaster it went through (closeStuckMaster), and ConnectionLost is thrown. ALIVE_BYTE is dropped from stderr.
 */
export async function runSsh(alias: string, remoteCommand: string, input: string, signal: AbortSignal, timeoutMs = REMOTE_OP_TIMEOUT_MS): Promise<SshResult> {
  const args = sshArgs(alias, remoteCommand);
  if (signal.aborted) throw new ToolError("aborted", "Not started: the turn was cancelled or interrupted.");
  const child = spawn("ssh", args, { env: sshEnv(), stdio: ["pipe", "pipe", "pipe"], detached: true });
  const out: Buffer[] = [];
  let collected = 0;
  let err = "";
  let why: "timeout" | "aborted" | "too_large" | "silent" | null = null;
  const silentMs = Math.min(answerLimitS() * 1000, timeoutMs);
  let heard = performance.now(); // monotonic: a wall clock set back or forward is no silence
  child.stdout.on("data", (chunk: Buffer) => {
    heard = performance.now();
    collected += chunk.length;
    if (collected <= MAX_SSH_OUTPUT_BYTES) out.push(chunk);
    else if (why === null) {
      out.length = 0;
      stop("too_large");
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    heard = performance.now();
    err = (err + withoutAlive(chunk).toString("utf8")).slice(-8_000);
  });
  child.stdin.on("error", () => undefined);
  child.stdin.end(input);
  let closing: Promise<unknown> = Promise.resolve();
  const stop = (reason: "timeout" | "aborted" | "too_large" | "silent"): void => {
    if (why !== null) return;
    why = reason;
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    if (reason === "silent") closing = closeStuckMaster(alias);
  };
  const silence = (): boolean => performance.now() - heard >= silentMs;
  const timer = setTimeout(() => stop(silence() ? "silent" : "timeout"), timeoutMs);
  const watch = setInterval(() => silence() && stop("silent"), Math.min(1_000, silentMs / 10));
  const onAbort = (): void => stop("aborted");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c) => resolve(c));
      // ssh hands our pipes to the master it multiplexes through: after a stop, a master that never dies would hold
      // them open, so the end of ssh itself is enough then.
      child.once("exit", (c) => {
        if (why !== null) setTimeout(() => resolve(c), 1_000).unref();
      });
    });
    if (why === "silent") {
      await closing;
      throw new ConnectionLost(alias, Math.round(silentMs / 1000));
    }
    if (why === "aborted") throw new ToolError("aborted", `Interrupted: the turn was cancelled or interrupted (the ssh command on ${alias} was stopped).`);
    if (why === "timeout") throw new ToolError("failed", `The remote operation on SSH host ${alias} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped.`);
    if (why === "too_large") {
      throw new ToolError(
        "failed",
        `The remote operation on SSH host ${alias} sent more than ${MAX_SSH_OUTPUT_BYTES / 1024 / 1024} MB (${MAX_SSH_OUTPUT_BYTES} bytes) and was stopped. ` +
          "Work on a smaller part: file_read with offset and limit, grep or glob with a narrower path or include, or shell on the remote host for large files.",
      );
    }
    return { code, stdout: Buffer.concat(out), stderr: err };
  } catch (error) {
    if (error instanceof ToolError) throw error;
    throw new ToolError("failed", `Could not run ssh (${(error as Error).message}); install the OpenSSH client (apt-get install openssh-client).`);
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
    signal.removeEventListener("abort", onAbort);
  }
}

/** The message for ssh's own failure (exit 255): connection refused, timeout, auth, unknown alias. */
export function unreachable(alias: string, stderr: string): ToolError {
  const detail = stderr.trim().split(/\r?\n/).filter(Boolean).slice(-3).join(" / ") || "no details";
  return new ToolError(
    "failed",
    `Cannot reach SSH host ${alias}: ${detail}. Check that "${alias}" is a Host in ~/.ssh/config, the machine is up, and key login works without a password (ssh -o BatchMode=yes ${alias} true).`,
  );
}

/** Opens (or reuses) the master connection; a clear ToolError when the host cannot be reached. */
export async function checkReachable(alias: string, signal: AbortSignal): Promise<void> {
  let result: SshResult;
  try {
    result = await runSsh(alias, "true", "", signal, (CONNECT_TIMEOUT_S + 5) * 1000);
  } catch (error) {
    if (error instanceof ConnectionLost) throw new ConnectionLost(alias, error.seconds, "The command was not started; run it again.");
    throw error;
  }
  if (result.code === 255) throw unreachable(alias, result.stderr);
}

/** The ssh_config files ssh reads: STARLING_SSH_CONFIG alone (`ssh -F`), else ~/.ssh/config and /etc/ssh/ssh_config. */
export function sshConfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const file = env[SSH_CONFIG_ENV];
  return file ? [file] : [join(homedir(), ".ssh", "config"), "/etc/ssh/ssh_config"];
}

/**
 * The literal `Host` names of the ssh_config files (Include followed; wildcard and negated
 * patterns are not names). Selectable mode lets the model reach only these (ARCHITECTURE §9.1):
 * without the check, any hostname, IP or `user@host` went to ssh, with the user's default keys.
 */
export function configuredAliases(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const read = (file: string, depth: number): void => {
    if (depth > 16 || seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return;
    }
    const base = file.startsWith("/etc/") ? "/etc/ssh" : join(homedir(), ".ssh");
    for (const raw of text.split("\n")) {
      const match = /^\s*(\w+)(?:\s*=\s*|\s+)(.*)$/.exec(raw);
      if (!match) continue;
      const keyword = (match[1] ?? "").toLowerCase();
      const words = (match[2] ?? "").replace(/#.*$/, "").trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^"(.*)"$/, "$1"));
      if (keyword === "host") for (const word of words) if (!/[*?!]/.test(word)) names.add(word);
      if (keyword === "include") for (const word of words) for (const included of expandInclude(word.replace(/^~(?=\/)/, homedir()), base)) read(included, depth + 1);
    }
  };
  for (const file of sshConfigFiles(env)) read(file, 0);
  return names;
}

/** Files an Include pattern names (`*` and `?` in the last part only, as used in practice). */
function expandInclude(pattern: string, base: string): string[] {
  const full = isAbsolute(pattern) ? pattern : join(base, pattern);
  const name = basename(full);
  if (!/[*?]/.test(name)) return [full];
  const rx = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  try {
    return readdirSync(dirname(full)).filter((entry) => rx.test(entry)).sort().map((entry) => join(dirname(full), entry));
  } catch {
    return [];
  }
}
