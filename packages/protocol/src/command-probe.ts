import { spawn } from "node:child_process";

/** How a probe command ended: ran and exited 0, could not be started (`spawnError`), or failed (`said`: its last stderr lines, or how it ended). */
export type CommandProbe = { ok: true } | { ok: false; spawnError: NodeJS.ErrnoException } | { ok: false; spawnError?: undefined; said: string };

/**
 * Really runs `binary args` (PATH only in its environment, killed after `timeoutMs`) to learn whether the kernel
 * lets it do what it is for: a PATH lookup alone would accept a bwrap or unshare the kernel then refuses.
 */
export function probeCommand(binary: string, args: readonly string[], timeoutMs: number, stderrLines = 2): Promise<CommandProbe> {
  return new Promise((resolve) => {
    let stderr = "";
    let child;
    try {
      child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    } catch (error) {
      resolve({ ok: false, spawnError: error as NodeJS.ErrnoException });
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, spawnError: error });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      resolve({ ok: false, said: stderr.trim().split("\n").slice(-stderrLines).join(" ") || (signal ? `killed by ${signal}` : `exit code ${code}`) });
    });
  });
}
