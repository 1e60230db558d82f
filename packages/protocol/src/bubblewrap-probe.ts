import { spawn } from "node:child_process";

export type BubblewrapProbe = { ok: true } | { ok: false; problem: string };

export const INSTALL_BUBBLEWRAP_HINT = "install bubblewrap: apt-get install bubblewrap";

/**
 * Really runs `binary` with the namespaces tool processes use (PID, IPC, UTS, and the network when
 * `network` is false) and reports what went wrong in words a user can act on. A PATH lookup alone
 * would accept a bwrap the kernel then refuses (user namespaces disabled, seccomp in containers).
 */
export function probeBubblewrap(binary: string, options: { network?: boolean; timeoutMs?: number } = {}): Promise<BubblewrapProbe> {
  const args = [
    "--die-with-parent",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    ...(options.network === false ? ["--unshare-net"] : []),
    "--ro-bind", "/", "/",
    "--proc", "/proc",
    "--dev", "/dev",
    "--", "/bin/sh", "-c", "exit 0",
  ];
  return new Promise((resolve) => {
    let stderr = "";
    let child;
    try {
      child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    } catch (error) {
      resolve({ ok: false, problem: `cannot run ${binary} (${(error as Error).message}); ${INSTALL_BUBBLEWRAP_HINT}` });
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const problem =
        error.code === "ENOENT"
          ? `${binary} was not found; ${INSTALL_BUBBLEWRAP_HINT} (or set sandbox.bubblewrap_binary)`
          : `cannot run ${binary} (${error.message}); ${INSTALL_BUBBLEWRAP_HINT}`;
      resolve({ ok: false, problem });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const said = stderr.trim().split("\n").slice(-2).join(" ") || (signal ? `killed by ${signal}` : `exit code ${code}`);
      resolve({
        ok: false,
        problem: `${binary} cannot create a sandbox here (${said}); the kernel may refuse unprivileged user namespaces (check sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces, or AppArmor's kernel.apparmor_restrict_unprivileged_userns)`,
      });
    });
  });
}
