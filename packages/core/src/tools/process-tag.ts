import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The variable every shell command starts with: `<scope>.<n>`, scope one per ShellSessions (random).
 * A process that leaves its process group (`setsid`, a daemon, `setpgid`) keeps what it inherited, so
 * the tag still finds it after a group kill would miss it; only a command that clears its own
 * environment on purpose (`env -i setsid …`) escapes the tag; the PID namespace of the commands
 * (pid-namespace.ts; bwrap's in bubblewrap mode) ends it at /cancel and with the worker.
 */
export const PROCESS_TAG_VAR = "STARLING_PROCESS_TAG";

const NEEDLE = Buffer.from(`${PROCESS_TAG_VAR}=`);

export function newTagScope(): string {
  return randomBytes(6).toString("hex");
}

/**
 * Reused for every read: a scan of /proc reads one environment per process (~3x faster than readFileSync).
 * Made on the first scan, not at load: the worker's start-up snapshot would carry it into every worker.
 */
let reusable: Buffer | undefined;

/** The tag of a live process of this user, or null (none, not readable, a zombie, gone). */
export function processTag(pid: number): string | null {
  const path = `/proc/${pid}/environ`;
  let environ: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const chunk = (reusable ??= Buffer.allocUnsafe(64 * 1024));
    const n = readSync(fd, chunk, 0, chunk.length, 0);
    environ = n < chunk.length ? chunk.subarray(0, n) : readFileSync(path);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  for (let at = environ.indexOf(NEEDLE); at !== -1; at = environ.indexOf(NEEDLE, at + 1)) {
    if (at > 0 && environ[at - 1] !== 0) continue;
    const end = environ.indexOf(0, at);
    return environ.subarray(at + NEEDLE.length, end === -1 ? undefined : end).toString();
  }
  return null;
}

/** Pids (not this process) whose tag satisfies `match`. */
export function taggedPids(match: (tag: string) => boolean): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const tag = processTag(pid);
    if (tag !== null && match(tag)) out.push(pid);
  }
  return out;
}

/** SIGTERM to every process whose tag matches, SIGKILL to those left after `graceMs`. */
export async function stopTagged(match: (tag: string) => boolean, graceMs: number, pollMs: number): Promise<void> {
  let pids = taggedPids(match);
  if (!pids.length) return;
  signalAll(pids, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.length && Date.now() < deadline) {
    await sleep(pollMs);
    pids = taggedPids(match);
  }
  // A few rounds: a process forked between the last scan and the SIGKILL is caught by the next one.
  for (let round = 0; pids.length && round < 5; round++) {
    signalAll(pids, "SIGKILL");
    await sleep(pollMs);
    pids = taggedPids(match);
  }
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}
