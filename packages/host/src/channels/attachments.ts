/**
 * `<attachment>path</attachment>` tags in a reply: resolved inside the conversation's
 * workspace, classified as photo or document, and removed from the text. Channel-neutral: the
 * Telegram channel uploads them, the web channel turns them into `file` events, `/files`-style
 * chat actions read them too.
 */
import { constants, existsSync, realpathSync, statSync } from "node:fs";
import { type FileHandle, open, readlink } from "node:fs/promises";
import path from "node:path";

export const PHOTO_EXTENSIONS: ReadonlySet<string> = new Set([".jpg", ".jpeg", ".png", ".webp", ".gif"]);
/** Above this an image is a document (Telegram's sendPhoto upload limit; the web page shows photos inline). */
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024;

export interface ReplyAttachment {
  /** Absolute, symlink-resolved path inside the workspace. */
  path: string;
  kind: "photo" | "document";
  /** File name to upload with. */
  name: string;
  size: number;
}

export interface RejectedAttachment {
  /** The path as written in the tag. */
  path: string;
  reason: string;
}

export interface ExtractedAttachments {
  text: string;
  attachments: ReplyAttachment[];
  rejected: RejectedAttachment[];
}

const TAG_RE = /<attachment>([\s\S]*?)<\/attachment>/gi;
/** Stands in for a removed tag until lines holding nothing else are dropped. */
const MARK = "\uE000";

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function resolveOne(written: string, workspace: string, realWorkspace: string | undefined): ReplyAttachment | RejectedAttachment {
  const raw = written.trim().replace(/^file:\/\//, "");
  if (raw === "") return { path: written, reason: "empty attachment path" };
  if (raw.includes("\0")) return { path: written, reason: "invalid attachment path" };
  if (realWorkspace === undefined) return { path: written, reason: `workspace ${workspace} does not exist` };
  const resolved = path.resolve(workspace, raw);
  if (!isInside(path.resolve(workspace), resolved) && !isInside(realWorkspace, resolved)) {
    return { path: written, reason: "path is outside the workspace" };
  }
  const real = realpathOrUndefined(resolved);
  if (real === undefined) return { path: written, reason: "file not found" };
  if (!isInside(realWorkspace, real)) return { path: written, reason: "path resolves (through a symlink) outside the workspace" };
  const stat = statSync(real);
  if (!stat.isFile()) return { path: written, reason: "not a regular file" };
  if (stat.size === 0) return { path: written, reason: "file is empty" };
  const ext = path.extname(real).toLowerCase();
  const kind = PHOTO_EXTENSIONS.has(ext) && stat.size <= PHOTO_MAX_BYTES ? "photo" : "document";
  return { path: real, kind, name: path.basename(resolved), size: stat.size };
}

/**
 * Find `<attachment>…</attachment>` tags, resolve each path against `workspace` and remove the
 * tags from the text. Paths escaping the workspace (`..`, absolute paths elsewhere, symlinks
 * pointing out), missing files and non-files are rejected with a reason. The same file named
 * twice is attached once.
 */
export function extractAttachments(text: string, workspace: string): ExtractedAttachments {
  const realWorkspace = realpathOrUndefined(workspace);
  const attachments: ReplyAttachment[] = [];
  const rejected: RejectedAttachment[] = [];
  const marked = text.replace(TAG_RE, (_whole, inner: string) => {
    const result = resolveOne(inner, workspace, realWorkspace);
    if ("reason" in result) rejected.push(result);
    else if (!attachments.some((a) => a.path === result.path)) attachments.push(result);
    return MARK;
  });
  // A line that held only tags goes away entirely; elsewhere only the tag goes.
  const cleaned = marked
    .split("\n")
    .filter((line) => !(line.includes(MARK) && line.split(MARK).join("").trim() === ""))
    .join("\n")
    .split(MARK)
    .join("")
    .trim();
  return { text: cleaned, attachments, rejected };
}

const PROC_FD = existsSync("/proc/self/fd");

/** Why a checked path opened later is not what was checked, when a folder above it became a link meanwhile. */
export const PATH_SWAPPED = "a folder on its path was changed into a link after it was checked";

/**
 * The error an open of a checked path (without following a final link) failed with, said as what changed since
 * the check when the failure means that (a link now, or gone); any other error as it is.
 */
export function changedSinceCheck(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ELOOP" || code === "ENOTDIR") return new Error("it was changed into a link after it was checked");
  if (code === "ENOENT") return new Error("it was moved or removed after it was checked");
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Opens `real` (a workspace file's real path, checked to be inside the workspace: `ReplyAttachment.path`, a
 * checked web download) for reading, and refuses it when it is no longer that file: the workspace is the
 * agent's, and a command can swap the checked file (or a folder on its path) for a link to any file the
 * host's user can read, or for a FIFO, between the check and the read. Opened without following a final
 * link nor waiting on a FIFO, and the descriptor's own path (`/proc/self/fd/N`) must still be `real`.
 * The error names what changed, for the user.
 */
export async function openCheckedFile(real: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw changedSinceCheck(error);
  }
  try {
    if (PROC_FD && (await readlink(`/proc/self/fd/${handle.fd}`)) !== real) throw new Error(PATH_SWAPPED);
    if (!(await handle.stat()).isFile()) throw new Error("it was changed into something other than a regular file after it was checked");
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}
