import { spawn } from "node:child_process";

/**
 * The `unshare` options subprocess mode's PID namespace is made with (core `tools/pid-namespace.ts`), the
 * command to run inside after them: a PID namespace whose init is the command (`--kill-child`: it dies with
 * unshare), with its own /proc in a mount namespace; a user namespace mapping the user to itself first when
 * not root (util-linux ≥ 2.38). Shared with `starling doctor`, which really makes one to tell whether it works.
 */
export function pidNamespaceUnshareArgs(userNs: boolean): string[] {
  return [...(userNs ? ["--user", "--map-current-user"] : []), "--pid", "--fork", "--kill-child", "--mount", "--propagation", "slave", "--mount-proc", "--"];
}

export type PidNamespaceProbe = { ok: true } | { ok: false; problem: string };

/** Makes one namespace as the worker does (running `true` in it) and says why not when it cannot. */
export function probePidNamespace(timeoutMs = 10_000): Promise<PidNamespaceProbe> {
  const userNs = process.geteuid?.() !== 0;
  return new Promise((resolve) => {
    let stderr = "";
    const child = spawn("unshare", [...pidNamespaceUnshareArgs(userNs), "true"], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, problem: error.code === "ENOENT" ? "unshare (util-linux) was not found" : `cannot run unshare (${error.message})` });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const said = stderr.trim().split("\n").slice(-1).join(" ") || (signal ? `killed by ${signal}` : `exit code ${code}`);
      const why = userNs ? "; unprivileged user namespaces may be off (sysctl user.max_user_namespaces, AppArmor's kernel.apparmor_restrict_unprivileged_userns) or util-linux older than 2.38" : "";
      resolve({ ok: false, problem: `unshare cannot make a PID namespace here (${said})${why}` });
    });
  });
}
