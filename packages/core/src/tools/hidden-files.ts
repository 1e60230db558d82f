import { normalize } from "node:path";
import { type HiddenEntry, hiddenEntries, isSameOrUnder, type LinkedFile, linkedFilesUnder, MAX_HIDDEN_FOLDER_ENTRIES, wellKnownSecretPaths, withoutTrailingSlash } from "@starling/protocol";
import { ToolError } from "./errors.js";

/** How long the hidden paths' real paths and inodes are used before they are looked up again. */
const LOOKUP_MS = 1000;

/** Device and inode of an open file (`fstat`). */
export interface FileId {
  dev: number;
  ino: number;
}

/** Why a file is hidden: the listed path, reached by its path (or a folder above it) or as a hard link. */
export interface Hiding {
  listed: string;
  how: "path" | "link";
}

/**
 * What the file tools may not open: the paths of `initialize.sandbox.hiddenPaths` (config
 * `sandbox.hidden_paths`, the host's config and env file) and the well-known secrets, the list
 * bubblewrap masks from shell commands. Matched by real path (the path, anything under a hidden folder,
 * whichever link leads there) and, for a hidden file, by device and inode: a hard link is another
 * path to the same file. The list is looked up when first needed and again at most once a second, so
 * a listed path that appears later (or a file replaced by a new inode) is hidden from then on, as
 * bubblewrap looks again for each command. Inside a hidden folder, the files with other links are
 * found at each lookup (MAX_HIDDEN_FOLDER_ENTRIES entries at most, all folders together) and matched by
 * device and inode too.
 */
export class HiddenFiles {
  private readonly lexical: string[];
  private entries: HiddenEntry[] = [];
  /** Files with other links inside the hidden folders, with the folder that hides them. */
  private linkedInFolders: { file: LinkedFile; folder: HiddenEntry }[] = [];
  private lookedUpAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly listed: readonly string[],
    private readonly clock: () => number = Date.now,
  ) {
    this.lexical = listed.map((p) => withoutTrailingSlash(normalize(p)));
  }

  /** The sandbox's hidden paths plus the well-known secrets (`WELL_KNOWN_SECRET_PATHS`, sshd host keys). */
  static forSandbox(hiddenPaths: readonly string[] = []): HiddenFiles {
    return new HiddenFiles([...hiddenPaths, ...wellKnownSecretPaths()]);
  }

  /**
   * What hides the file or folder at `real` (a real path inside `base`, the workspace or shared root;
   * `id` when it is open), or null. A hidden folder that holds `base` itself does not count: bubblewrap
   * shows the workspace through a hidden folder that holds it too.
   */
  hiding(real: string, base: string, id?: FileId): Hiding | null {
    const counts = (path: string) => !isSameOrUnder(base, path);
    const byPath = this.lexical.find((p) => counts(p) && isSameOrUnder(real, p));
    if (byPath !== undefined) return { listed: byPath, how: "path" };
    for (const entry of this.current()) {
      if (!counts(entry.real)) continue;
      if (isSameOrUnder(real, entry.real)) return { listed: entry.listed, how: "path" };
      if (id && entry.kind === "file" && id.dev === entry.dev && id.ino === entry.ino) return { listed: entry.listed, how: "link" };
    }
    if (!id) return null;
    const inFolder = this.linkedInFolders.find(({ file, folder }) => counts(folder.real) && file.dev === id.dev && file.ino === id.ino);
    return inFolder ? { listed: inFolder.file.path, how: "link" } : null;
  }

  private current(): HiddenEntry[] {
    const now = this.clock();
    if (now - this.lookedUpAt >= LOOKUP_MS) {
      this.entries = hiddenEntries(this.listed);
      const budget = { left: MAX_HIDDEN_FOLDER_ENTRIES };
      this.linkedInFolders = this.entries
        .filter((entry) => entry.kind === "dir")
        .flatMap((folder) => linkedFilesUnder(folder.real, budget).map((file) => ({ file, folder })));
      this.lookedUpAt = now;
    }
    return this.entries;
  }
}

/** The tool error for a hidden file: names the setting, so the operator's choice is not mistaken for a fault. */
export function hiddenFileError(display: string, hiding: Hiding): ToolError {
  const what = hiding.how === "link" ? `${display} is a hard link to ${hiding.listed}, which is` : `${display} is`;
  return new ToolError(
    "path_escape",
    `${what} hidden by sandbox.hidden_paths (the operator's list, with the host's config and env file and well-known secrets): ` +
      "no tool may read, search or change it. Nothing was read or written; do not try another way to reach it.",
  );
}
