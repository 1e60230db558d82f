import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type HiddenEntry, type HiddenPathMemory, processHiddenMemory } from "./hidden-entries.js";
import type { ToolSandbox } from "./methods.js";
import { SANDBOX_RESOLVER_DIR, SANDBOX_SYSTEM_DIRS, wellKnownSecretPaths } from "./sandbox-paths.js";

/**
 * The sandbox cannot be set up as configured (a `software_dir` that does not exist): the process was not
 * started. The message says so and what to fix.
 */
export class SandboxSetupError extends Error {
  override readonly name = "SandboxSetupError";
}

/**
 * The bwrap options (everything before `--`) for one tool process; `env` is set with `--setenv`, so never a secret.
 * `memory` keeps every real path a hidden path led to masked (default: this process's, shared with the file tools).
 */
export function bubblewrapArgs(
  workspace: string,
  sandbox: ToolSandbox,
  env: Record<string, string>,
  cwd: string,
  memory: HiddenPathMemory = processHiddenMemory,
): string[] {
  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(sandbox.network ? [] : ["--unshare-net"]),
    // bwrap keeps every capability of a root caller (a worker running as root): with CAP_SYS_ADMIN a command could
    // `umount` the masks and read what they hide (or mount anything). A non-root caller has none to drop.
    "--cap-drop",
    "ALL",
  ];
  // No --clearenv: bwrap's own environment is the spawn's (the tools' one, the process's extra and secrets), nothing
  // of the worker's. The non-secret variables are set again because a setuid bwrap's libc drops some (TMPDIR,
  // LD_LIBRARY_PATH) from its own.
  for (const [name, value] of Object.entries(env)) args.push("--setenv", name, value);
  const hidden = outermostHidden(memory.entries([...sandbox.hiddenPaths, ...wellKnownSecretPaths()]));
  // bwrap applies its options in order: each bind's masks right after it, so a later bind (the
  // workspace) still shows through a hidden folder that holds it.
  const bind = (option: "--bind" | "--ro-bind", source: string, dest = source) => {
    args.push(option, source, dest);
    if (hidden.length === 0) return;
    const real = realOr(source);
    // A writable bind's folders above a hidden entry first, then the masks over them.
    if (option === "--bind") args.push(...ancestorBinds(hidden, real, dest));
    args.push(...maskArgs(hidden, real, dest));
  };
  for (const dir of SANDBOX_SYSTEM_DIRS) {
    const kind = entryKind(dir);
    if (kind === "link") args.push("--symlink", readlinkSync(dir), dir);
    else if (kind === "dir") bind("--ro-bind", dir);
  }
  if (entryKind(SANDBOX_RESOLVER_DIR) === "dir") bind("--ro-bind", SANDBOX_RESOLVER_DIR);
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
  args.push("--chdir", cwd);
  return args;
}

/**
 * The hidden entries (the host's config and env file, `sandbox.hidden_paths`, the well-known secrets, where they
 * led before) without those inside another hidden folder.
 */
function outermostHidden(entries: HiddenEntry[]): HiddenEntry[] {
  const sorted = entries.sort((a, b) => a.real.length - b.real.length);
  return sorted.filter((e) => !sorted.some((d) => d !== e && d.kind === "dir" && under(e.real, d.real)));
}

/**
 * Where the bind of `realSource` (its real path) at `dest` would show a hidden entry: a file is covered by an
 * empty read-only one, a folder by an empty tmpfs.
 */
function maskArgs(hidden: readonly HiddenEntry[], realSource: string, dest: string): string[] {
  const out: string[] = [];
  for (const { real, kind } of hidden) {
    if (real !== realSource && !under(real, realSource)) continue;
    const inside = dest + real.slice(realSource.length);
    out.push(...(kind === "dir" ? ["--tmpfs", inside] : ["--ro-bind", "/dev/null", inside]));
  }
  return out;
}

/**
 * In a writable bind, each folder between its root and a hidden entry bound onto itself: a mount point cannot be
 * renamed or removed (EBUSY), so a command cannot `mv private moved` to take a masked file out from under its mask,
 * after which the listed path would no longer exist and the next command would mask nothing. (The mask's own file
 * and the bind's root are mount points already.)
 */
function ancestorBinds(hidden: readonly HiddenEntry[], realSource: string, dest: string): string[] {
  const folders = new Set<string>();
  for (const { real } of hidden) {
    if (!under(real, realSource)) continue;
    const parts = real.slice(realSource.length + 1).split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
  }
  // Parents before children: a later bind goes over an earlier one.
  return [...folders].sort().flatMap((rel) => ["--bind", join(realSource, rel), join(dest, rel)]);
}

function realOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path; // bwrap reports it
  }
}

function under(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

function entryKind(path: string): "link" | "dir" | null {
  try {
    const stat = lstatSync(path);
    return stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "dir" : null;
  } catch {
    return null;
  }
}
