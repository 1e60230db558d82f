// Process helpers: memory from /proc, a clean environment for children, timeouts.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Memory {
  /** VmRSS: resident set, including file-backed pages shared with other processes (the node binary). */
  rssKb: number;
  /** RssAnon: private heap/stack pages — what each extra process really costs. */
  anonKb: number;
  /** RssFile: file-backed resident pages (mostly the node executable, shared between processes). */
  fileKb: number;
  /** VmHWM: peak VmRSS. */
  hwmKb: number;
  /** Pss from smaps_rollup (shared pages divided among the processes sharing them), when readable. */
  pssKb: number | null;
}

/** Memory figures of a live process; null when it is gone or /proc is unavailable. */
export function memoryOf(pid: number | undefined): Memory | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? Number.NaN);
    if (!/^VmRSS:/m.test(status)) return null; // a zombie (exited, not yet reaped) has no memory lines
    let pssKb: number | null = null;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const m = /^Pss:\s+(\d+)\s+kB/m.exec(rollup);
      pssKb = m ? Number(m[1]) : null;
    } catch {
      pssKb = null;
    }
    return { rssKb: field("VmRSS"), anonKb: field("RssAnon"), fileKb: field("RssFile"), hwmKb: field("VmHWM"), pssKb };
  } catch {
    return null;
  }
}

/**
 * The bench's environment for children: nothing that loads tsx or other hooks, and no
 * NODE_EXTRA_CA_CERTS (it makes every `node` start read and parse a CA bundle, ~30 ms here;
 * a sandbox artefact that would inflate the floor and the worker alike).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ["NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "TSX_TSCONFIG_PATH"]) delete env[key];
  return env;
}

/** Spawns `node <args>` and resolves with spawn → exit in milliseconds. */
export function timeNode(args: string[], env: NodeJS.ProcessEnv = childEnv()): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - t0));
  });
}

/** Runs `node <args>` and resolves with its stdout (rejects on a non-zero exit). */
export function nodeOutput(args: string[], env: NodeJS.ProcessEnv = childEnv()): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${args.join(" ")} exited ${code}: ${err.slice(-500)}`))));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Awaits `promise` with a deadline; rejects with `label` when it passes. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** utime+stime of a process, and of its waited-for children (cutime+cstime), in ms. */
export function cpu(pid: number): { self: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const x = f.slice(f.lastIndexOf(")") + 2).split(" ").map(Number);
  return { self: (x[11]! + x[12]!) * 10, children: (x[13]! + x[14]!) * 10 };
}

/** "VmRSS … MB, RssAnon … MB, RssFile … MB, VmHWM … MB" of a process (for probes' output). */
export function memoryLine(pid: number | undefined): string {
  const m = memoryOf(pid);
  if (!m) return "gone";
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
  return `VmRSS ${mb(m.rssKb)}, RssAnon ${mb(m.anonKb)}, RssFile ${mb(m.fileKb)}, VmHWM ${mb(m.hwmKb)}`;
}

/** Minor and major page faults of a process so far, all its threads (/proc/<pid>/stat minflt, majflt); zeros when gone. */
export function faultsOf(pid: number): { minor: number; major: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return { minor: Number(x[7]), major: Number(x[9]) }; // fields 10 and 12
  } catch {
    return { minor: 0, major: 0 };
  }
}
