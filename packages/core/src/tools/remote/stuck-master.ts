import { execFile } from "node:child_process";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { procStat } from "../process-ledger.js";

/**
 * The ControlPath ssh uses with `args` (`-F`, `-o ControlPath=…%C`, the alias last): `ssh -G` prints it with %C
 * expanded (a hash of the local host, remote host, port and user), so it names the one master of that alias.
 * `null` when ssh does not answer within 5 s (it only reads its config; it connects nowhere).
 */
export async function resolvedControlPath(args: string[], env: Record<string, string>): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("ssh", ["-G", ...args], { env, timeout: 5_000, encoding: "utf8" }, (error, stdout) => {
      if (error) return resolve(null);
      const line = stdout.split("\n").find((l) => l.startsWith("controlpath "));
      resolve(line ? line.slice("controlpath ".length).trim() : null);
    });
  });
}

/**
 * SIGKILLs this user's ControlMasters listening on `socket`; returns their pids. A master that ControlPersist put
 * in the background is titled `ssh: <socket> [mux]` (OpenSSH's setproctitle), which finds it without asking it:
 * a stopped or wedged master answers no `ssh -O check` or `-O exit`. SIGKILL, as a stopped process acts on no other
 * signal. The socket file it leaves is stale; the next ssh finds nobody listening, removes it and becomes the new master.
 * Returns once they are gone (2 s at most): SIGKILL takes effect only when the process next runs.
 */
export async function killMasters(socket: string): Promise<number[]> {
  const title = Buffer.from(`ssh: ${socket} [mux]`);
  const uid = process.getuid?.() ?? 0;
  const head = Buffer.alloc(title.length + 1);
  const killed: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let fd: number | undefined;
    try {
      if (statSync(`/proc/${name}`).uid !== uid) continue;
      fd = openSync(`/proc/${name}/cmdline`, "r");
      const n = readSync(fd, head, 0, head.length, 0);
      // The title, then the end of the string (NUL or the padding ssh leaves after it).
      if (n < title.length || !head.subarray(0, title.length).equals(title) || (n > title.length && head[title.length] !== 0 && head[title.length] !== 0x20)) continue;
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      /* gone, or not ours */
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  const deadline = Date.now() + 2_000;
  while (killed.some(living) && Date.now() < deadline) await sleep(10);
  return killed;
}

function living(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state !== undefined && state !== "Z" && state !== "X";
}
