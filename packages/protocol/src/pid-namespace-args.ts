import { probeCommand } from "./command-probe.js";

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
export async function probePidNamespace(timeoutMs = 10_000): Promise<PidNamespaceProbe> {
  const userNs = process.geteuid?.() !== 0;
  const probe = await probeCommand("unshare", [...pidNamespaceUnshareArgs(userNs), "true"], timeoutMs, 1);
  if (probe.ok) return { ok: true };
  if (probe.spawnError) return { ok: false, problem: probe.spawnError.code === "ENOENT" ? "unshare (util-linux) was not found" : `cannot run unshare (${probe.spawnError.message})` };
  const why = userNs ? "; unprivileged user namespaces may be off (sysctl user.max_user_namespaces, AppArmor's kernel.apparmor_restrict_unprivileged_userns) or util-linux older than 2.38" : "";
  return { ok: false, problem: `unshare cannot make a PID namespace here (${probe.said})${why}` };
}
