import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { ToolSandbox } from "./methods.js";

/**
 * The sandbox cannot be set up as configured (a `software_dir` that does not exist): the process was not
 * started. The message says so and what to fix.
 */
export class SandboxSetupError extends Error {
  override readonly name = "SandboxSetupError";
}

/** System folders bound read-only into the sandbox (symlinks such as /bin → usr/bin are recreated as links). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];
/** DNS through systemd-resolved: /etc/resolv.conf often links here. */
const RESOLVER_DIR = "/run/systemd/resolve";

/** The bwrap options (everything before `--`) for one tool process; `env` is set with `--setenv`, so never a secret. */
export function bubblewrapArgs(workspace: string, sandbox: ToolSandbox, env: Record<string, string>, cwd: string): string[] {
  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(sandbox.network ? [] : ["--unshare-net"]),
  ];
  // No --clearenv: bwrap's own environment is the spawn's (the tools' one, the process's extra and secrets), nothing
  // of the worker's. The non-secret variables are set again because a setuid bwrap's libc drops some (TMPDIR,
  // LD_LIBRARY_PATH) from its own.
  for (const [name, value] of Object.entries(env)) args.push("--setenv", name, value);
  /** [source, where it appears inside]: what `hiddenPaths` are masked under. */
  const binds: [string, string][] = [];
  const bind = (option: "--bind" | "--ro-bind", source: string, dest = source) => {
    args.push(option, source, dest);
    binds.push([source, dest]);
  };
  for (const dir of SYSTEM_DIRS) {
    const kind = entryKind(dir);
    if (kind === "link") args.push("--symlink", readlinkSync(dir), dir);
    else if (kind === "dir") bind("--ro-bind", dir);
  }
  if (entryKind(RESOLVER_DIR) === "dir") bind("--ro-bind", RESOLVER_DIR);
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp");
  // Only this conversation's folder: its siblings, the workdir's state, logs and config stay absent.
  bind("--bind", workspace);
  // The session database belongs to the worker: tools may read it, never rewrite it.
  const db = join(workspace, ".starling");
  if (existsSync(db)) bind("--ro-bind", db);
  if (sandbox.sharedDir && existsSync(sandbox.sharedDir)) bind("--bind", sandbox.sharedDir);
  if (sandbox.softwareDir) {
    if (!existsSync(sandbox.softwareDir)) {
      throw new SandboxSetupError(`The command was not run: sandbox.software_dir ${sandbox.softwareDir} does not exist; fix the config.`);
    }
    bind("--ro-bind", sandbox.softwareDir, sandbox.softwareMountPath);
  }
  args.push(...maskArgs(sandbox.hiddenPaths, binds));
  args.push("--chdir", cwd);
  return args;
}

/**
 * The host's secret files (config, env file) wherever a bind would show them (a config under /etc):
 * a file is covered by an empty read-only one, a folder by an empty tmpfs. After the binds, which
 * bwrap applies in order.
 */
function maskArgs(hidden: readonly string[], binds: readonly [string, string][]): string[] {
  const out: string[] = [];
  for (const path of hidden) {
    const kind = entryKind(path) ?? (existsSync(path) ? "file" : null);
    if (!kind) continue;
    for (const [source, dest] of binds) {
      if (path !== source && !path.startsWith(source.endsWith("/") ? source : `${source}/`)) continue;
      const inside = dest + path.slice(source.length);
      out.push(...(kind === "dir" ? ["--tmpfs", inside] : ["--ro-bind", "/dev/null", inside]));
    }
  }
  return out;
}

function entryKind(path: string): "link" | "dir" | null {
  try {
    const stat = lstatSync(path);
    return stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "dir" : null;
  } catch {
    return null;
  }
}
