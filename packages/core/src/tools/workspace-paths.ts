import { constants, readlinkSync } from "node:fs";
import { type FileHandle, lstat, open, readlink, realpath, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { ConfinedDir, MakeDirsError } from "@starling/protocol";
import { hasCode } from "./errors.js";
import { ToolError } from "./errors.js";
import { type FileId, HiddenFiles, hiddenFileError } from "./hidden-files.js";

/** A path argument after confinement. */
export interface ResolvedPath {
  /** Absolute, symlink-resolved path to hand to `fs` (its last parts may not exist yet). */
  abs: string;
  /** The path as the model should see it: workspace-relative with `/`, or `.` for the root. */
  display: string;
}

export interface ResolveOptions {
  /** The tool will write here: the session database folder (`.starling/`) is refused. */
  write?: boolean;
}

/** The workspace folder whose symlink target (outside the workspace) tools may also use. */
export const SHARED_DIR = "shared";
const PROTECTED_DIR = ".starling";
const MAX_LINK_HOPS = 40;
/** Reads never wait: O_NONBLOCK makes the open of a FIFO return at once (then refused as not a regular file); regular files ignore it. */
const READ = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Confines path arguments to the workspace. Relative paths are relative to the workspace; absolute
 * paths must lie inside it. `..` that leaves it and symlinks pointing out of it are refused, except
 * under `<workspace>/shared/`, which may be a symlink to the shared folder (paths there may resolve
 * anywhere inside the shared folder the host named, never inside whatever the link points to now).
 */
export class WorkspacePaths {
  private readonly lexicalRoot: string;
  private realRoot: string | null = null;
  private readonly sharedTarget: string | undefined;
  private readonly hidden: HiddenFiles;

  /**
   * `sharedDir`: the folder `shared/` is meant to lead to (the host's `rundir/shared`, given in
   * `initialize.sandbox.sharedDir`). When given, only it counts as shared: the `shared` link itself sits
   * in the workspace, where a tool can replace it (`ln -sfn / shared`), so its current target is never
   * trusted. Without it (an embedder with no shared folder) the link's target counts.
   * `hidden`: files and folders no tool may open (`sandbox.hidden_paths`; default none).
   */
  constructor(workspace: string, sharedDir?: string, hidden: HiddenFiles = new HiddenFiles([])) {
    this.lexicalRoot = resolve(workspace);
    this.sharedTarget = sharedDir === undefined ? undefined : resolve(sharedDir);
    this.hidden = hidden;
  }

  /** Real workspace root (symlinks resolved); the lexical path if it cannot be resolved. */
  async root(): Promise<string> {
    if (this.realRoot === null) {
      this.realRoot = await realpath(this.lexicalRoot).catch(() => this.lexicalRoot);
    }
    return this.realRoot;
  }

  /** Resolves `input` or throws a `ToolError` (`path_escape`) that names the path. */
  async resolve(input: string, options: ResolveOptions = {}): Promise<ResolvedPath> {
    const root = await this.root();
    const raw = input.trim() === "" ? "." : input;
    const lexical = isAbsolute(raw) ? resolve(raw) : resolve(this.lexicalRoot, raw);
    const rel = insideAny(lexical, [this.lexicalRoot, root]);
    if (rel === null) {
      throw new ToolError(
        "path_escape",
        `Path ${JSON.stringify(input)} resolves to ${lexical}, which is outside the workspace ${root}. ` +
          "Use a path inside the workspace (relative paths are relative to it).",
      );
    }
    const display = rel === "" ? "." : rel.split(sep).join("/");
    const real = await realpathAllowMissing(resolve(root, rel), 0);
    if (insideAny(real, [root]) === null && !(await this.insideShared(rel, real))) {
      throw new ToolError(
        "path_escape",
        `Path ${JSON.stringify(input)} goes through a symlink to ${real}, which is outside the workspace ${root}. ` +
          "Symlinks may not lead out of the workspace (only shared/ may point elsewhere).",
      );
    }
    if (options.write && (display === PROTECTED_DIR || display.startsWith(`${PROTECTED_DIR}/`))) {
      throw new ToolError("path_escape", `Path ${JSON.stringify(input)} is inside ${PROTECTED_DIR}/, which holds the session database; tools may not write there.`);
    }
    await this.refuseHidden(real, undefined, display);
    return { abs: real, display };
  }

  /**
   * Opens `abs` (a path `resolve` returned) and checks, on the open descriptor, that the file really is
   * inside the workspace or the shared folder. `resolve` checks a path, the open follows it again: in
   * between, a tool process (in bubblewrap mode too: the workspace is its to change) can swap a folder
   * for a symlink to anywhere, and the worker, outside the sandbox, would follow it. So what the
   * descriptor names (`/proc/self/fd/N`) decides; a file found outside is closed unread and unwritten
   * and the call fails with `path_escape`. Where /proc is missing only the path check applies. Only a
   * regular file is opened: the agent can make a FIFO there, whose open would block one of the few
   * threads all of the worker's file operations share until someone opens its other end.
   */
  async open(abs: string, flags: "r"): Promise<FileHandle> {
    const handle = await open(abs, READ);
    try {
      await this.checkOpened(handle, abs);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  /** The whole file at `abs`, read through a checked descriptor (`open`). */
  async readFile(abs: string): Promise<Buffer> {
    const handle = await this.open(abs, "r");
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /**
   * The folder `abs` (a path `resolve` returned), opened without following a final symlink and checked
   * like `open`. What is reached through it (`ConfinedDir`) stays inside it, whatever is swapped later.
   */
  async openDir(abs: string): Promise<ConfinedDir> {
    let dir: ConfinedDir;
    try {
      dir = ConfinedDir.open(abs, abs);
    } catch (error) {
      throw await this.swapped(error, abs);
    }
    try {
      const real = dir.procPath === null ? abs : readlinkSync(dir.procPath);
      await this.checkReal(real, abs);
      await this.refuseHidden(real);
    } catch (error) {
      dir.close();
      throw error;
    }
    return dir;
  }

  /**
   * The checked folder that holds `abs`, and the last name of `abs`. With `create`, missing folders are
   * made one at a time from the workspace (or shared) root, each opened through the one above it, so a
   * folder swapped for a link on the way makes nothing outside.
   */
  async openParent(abs: string, options: { create?: boolean } = {}): Promise<{ dir: ConfinedDir; name: string }> {
    const name = basename(abs);
    try {
      return { dir: await this.openDir(dirname(abs)), name };
    } catch (error) {
      if (!options.create || !hasCode(error, "ENOENT")) throw error;
    }
    return { dir: await this.makeDirs(dirname(abs)), name };
  }

  /**
   * Writes (or appends) `content` to `abs`, creating missing parent folders: the file is opened by its
   * name inside its checked parent without following a symlink, and truncated only once open, so
   * nothing outside the workspace is created, emptied or written. `mode` is set on the descriptor.
   */
  async writeFile(abs: string, content: string, options: { append?: boolean; mode?: number } = {}): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK | (options.append ? constants.O_APPEND : 0);
    const { dir, name } = await this.openParent(abs, { create: true });
    let handle: FileHandle;
    try {
      handle = await dir.openFile(name, flags).catch(async (error: unknown) => {
        // A FIFO nobody reads: O_NONBLOCK makes its open fail at once instead of waiting for a reader.
        if (hasCode(error, "ENXIO")) throw await this.notRegular(abs);
        throw await this.swapped(error, abs);
      });
    } finally {
      dir.close();
    }
    try {
      await this.checkOpened(handle, abs);
      if (!options.append) await handle.truncate(0);
      await handle.writeFile(content, "utf8");
      if (options.mode !== undefined) await handle.chmod(options.mode);
    } finally {
      await handle.close();
    }
  }

  /** Removes the file `abs` (missing is fine) by its name inside its checked parent folder. */
  async unlink(abs: string): Promise<void> {
    let parent: { dir: ConfinedDir; name: string };
    try {
      parent = await this.openParent(abs);
    } catch (error) {
      if (hasCode(error, "ENOENT")) return;
      throw error;
    }
    try {
      await unlink(parent.dir.entry(parent.name));
    } catch (error) {
      if (!hasCode(error, "ENOENT")) throw error;
    } finally {
      parent.dir.close();
    }
  }

  /** `mkdir -p` of `abs`, one folder at a time, each opened (O_NOFOLLOW) through its checked parent. */
  private async makeDirs(abs: string): Promise<ConfinedDir> {
    const root = await this.root();
    const shared = await this.sharedRoot();
    const base = insideAny(abs, [root]) !== null ? root : shared !== null && insideAny(abs, [shared]) !== null ? shared : null;
    if (base === null) throw new ToolError("path_escape", `${await this.display(abs)} is outside the workspace ${root}; no folder was created.`);
    const dir = await this.openDir(base);
    try {
      return dir.makeDirs(relative(base, abs).split(sep).filter(Boolean));
    } catch (error) {
      if (!(error instanceof MakeDirsError)) throw error;
      throw await this.swapped(error.cause, error.abs);
    }
  }

  /** An open that met a symlink where a real folder or file was checked: `path_escape`; other errors as they are. */
  private async swapped(error: unknown, abs: string): Promise<unknown> {
    if (!hasCode(error, "ELOOP", "ENOTDIR")) return error;
    const link = await lstat(abs).then((s) => s.isSymbolicLink(), () => false);
    if (!link && hasCode(error, "ENOTDIR")) return error;
    return new ToolError(
      "path_escape",
      `${await this.display(abs)} was a symlink when it was opened (swapped in after the path was checked); it is not followed, and nothing was read or written.`,
    );
  }

  /**
   * Opens a file a walk found (`entry`, reached through its open folder, never through a symlink) for
   * reading; a hard link to a hidden file is refused like `open` refuses it. `abs` is its real path.
   */
  async openWalked(entry: string, abs: string): Promise<FileHandle> {
    const handle = await open(entry, READ | constants.O_NOFOLLOW);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw await this.notRegular(abs);
      await this.refuseHidden(abs, stat);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  /**
   * Whether a walk (glob, grep) passes over the file or folder at real path `abs`: it is hidden. The
   * roots are looked up once, so the check per entry costs no system call.
   */
  async hiddenFilter(): Promise<(abs: string) => boolean> {
    const root = await this.root();
    const shared = await this.sharedRoot();
    return (abs) => this.hidden.hiding(abs, this.baseOf(abs, root, shared)) !== null;
  }

  /** Throws unless what `handle` (opened for `abs`) names is a regular file inside the workspace or shared folder and not hidden. */
  private async checkOpened(handle: FileHandle, abs: string): Promise<void> {
    let real = abs;
    try {
      real = await readlink(`/proc/self/fd/${handle.fd}`);
      await this.checkReal(real, abs);
    } catch (error) {
      if (error instanceof ToolError) throw error;
    }
    const stat = await handle.stat();
    if (!stat.isFile()) throw await this.notRegular(abs);
    await this.refuseHidden(real, stat);
  }

  private async notRegular(abs: string): Promise<ToolError> {
    return new ToolError("failed", `${await this.display(abs)} is not a regular file (a folder, FIFO, socket or device); file tools read and write only regular files.`);
  }

  /** Throws the hidden-file error when `real` (with `id` when open) is hidden (`sandbox.hidden_paths`). */
  private async refuseHidden(real: string, id?: FileId, display?: string): Promise<void> {
    const root = await this.root();
    // The shared folder is looked up (a realpath) only for a path outside the workspace.
    const base = insideAny(real, [root]) !== null ? root : this.baseOf(real, root, await this.sharedRoot());
    const hiding = this.hidden.hiding(real, base, id);
    if (hiding !== null) throw hiddenFileError(display ?? (await this.display(real)), hiding);
  }

  /** The root `real` is in (the shared folder's when it is there), for `HiddenFiles.hiding`. */
  private baseOf(real: string, root: string, shared: string | null): string {
    return shared !== null && insideAny(real, [root]) === null && insideAny(real, [shared]) !== null ? shared : root;
  }

  /** Throws `path_escape` unless `real` (what a descriptor opened for `abs` names) is inside the workspace or shared folder. */
  private async checkReal(real: string, abs: string): Promise<void> {
    const root = await this.root();
    if (insideAny(real, [root]) !== null) return;
    const shared = await this.sharedRoot();
    if (shared !== null && insideAny(real, [shared]) !== null) return;
    throw new ToolError(
      "path_escape",
      `${await this.display(abs)} led outside the workspace ${root} when it was opened (a symlink was swapped in after the path was checked); nothing was read or written.`,
    );
  }

  /** How an absolute path (as found in an `fs` error) should be shown to the model. */
  async display(abs: string): Promise<string> {
    const root = await this.root();
    const rel = insideAny(abs, [root, this.lexicalRoot]);
    if (rel !== null) return rel === "" ? "." : rel.split(sep).join("/");
    const shared = await this.sharedRoot();
    const inShared = shared === null ? null : insideAny(abs, [shared]);
    if (inShared !== null) return [SHARED_DIR, ...inShared.split(sep)].filter(Boolean).join("/");
    return abs;
  }

  private async insideShared(rel: string, real: string): Promise<boolean> {
    const first = rel.split(sep)[0];
    if (first !== SHARED_DIR) return false;
    const target = await this.sharedRoot();
    return target !== null && insideAny(real, [target]) !== null;
  }

  /** The real folder paths under `shared/` may resolve into (null: none). */
  private async sharedRoot(): Promise<string | null> {
    const link = this.sharedTarget ?? resolve(await this.root(), SHARED_DIR);
    return realpath(link).catch(() => null);
  }
}

/** `path` relative to the first of `roots` that contains it, or `null` when none does. */
function insideAny(path: string, roots: readonly string[]): string | null {
  for (const root of roots) {
    const rel = relative(root, path);
    if (rel === "") return "";
    if (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel)) return rel;
  }
  return null;
}

/**
 * `realpath` that also works for paths whose last parts do not exist yet (a file about to be
 * written): the longest existing prefix is resolved and the rest appended. Dangling symlinks are
 * followed to where they point, so writing through one cannot leave the workspace unnoticed.
 */
async function realpathAllowMissing(path: string, hops: number): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (!hasCode(error, "ENOENT", "ENOTDIR")) throw error;
  }
  const parent = dirname(path);
  if (parent === path) return path;
  const stat = await lstat(path).catch(() => null);
  if (stat?.isSymbolicLink()) {
    if (hops >= MAX_LINK_HOPS) throw new ToolError("failed", `Too many levels of symbolic links at ${path}.`);
    const target = await readlink(path);
    return realpathAllowMissing(resolve(parent, target), hops + 1);
  }
  return resolve(await realpathAllowMissing(parent, hops), basename(path));
}
