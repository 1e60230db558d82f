import { probeCommand } from "./command-probe.js";

export type BubblewrapProbe = { ok: true } | { ok: false; problem: string };

export const INSTALL_BUBBLEWRAP_HINT = "install bubblewrap: apt-get install bubblewrap";

/**
 * Really runs `binary` with the namespaces tool processes use (PID, IPC, UTS, and the network when
 * `network` is false) and reports what went wrong in words a user can act on. A PATH lookup alone
 * would accept a bwrap the kernel then refuses (user namespaces disabled, seccomp in containers).
 */
export async function probeBubblewrap(binary: string, options: { network?: boolean; timeoutMs?: number } = {}): Promise<BubblewrapProbe> {
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
  const probe = await probeCommand(binary, args, options.timeoutMs ?? 10_000);
  if (probe.ok) return { ok: true };
  if (probe.spawnError) {
    const problem =
      probe.spawnError.code === "ENOENT"
        ? `${binary} was not found; ${INSTALL_BUBBLEWRAP_HINT} (or set sandbox.bubblewrap_binary)`
        : `cannot run ${binary} (${probe.spawnError.message}); ${INSTALL_BUBBLEWRAP_HINT}`;
    return { ok: false, problem };
  }
  return {
    ok: false,
    problem: `${binary} cannot create a sandbox here (${probe.said}); the kernel may refuse unprivileged user namespaces (check sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces, or AppArmor's kernel.apparmor_restrict_unprivileged_userns)`,
  };
}
