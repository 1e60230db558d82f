import { statSync } from "node:fs";
import { normalize } from "node:path";
import { type HiddenEntry, type HiddenPathMemory, isSameOrUnder, type LinkedFile, linkedFilesUnder, MAX_HIDDEN_FOLDER_ENTRIES, processHiddenMemory, wellKnownSecretPaths, withoutTrailingSlash } from "@starling/protocol";
import { ToolError } from "./errors.js";

/** How long the hidden paths' real paths and inodes are used before they are looked up again. */
const LOOKUP_MS = 1000;

/** Device and inode of an open file (`fstat`). */
export interface FileId {
  dev: number;
  ino: number;
}

/**
 * Why a file is hidden: the listed path, reached by its path (or a folder above it), as a hard link, or as the
 * file a lookup found there before (since moved, or linked and the listed path removed).
 */
export interface Hiding {
  listed: string;
  how: "path" | "link" | "seen";
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
 * device and inode too. Every hidden file a lookup found is remembered (device and inode) for the worker's life:
 * one a command moved away (`mv private moved`, which nothing stops in subprocess mode) is still refused at its
 * new path. A remembered inode the file system reuses for a new file after the secret was deleted refuses that
 * file too: a false refusal, never a leak. Every real path a lookup found stays hidden too (`HiddenPathMemory`,
 * shared with bubblewrap's masks): a hidden folder listed through a link the agent repointed is still refused.
 */
export class HiddenFiles {
  private readonly lexical: string[];
  private entries: HiddenEntry[] = [];
  /** Files with other links inside the hidden folders, with the folder that hides them. */
  private linkedInFolders: { file: LinkedFile; folder: HiddenEntry }[] = [];
  /** Every hidden file any lookup found, by `dev:ino`. */
  private readonly seen = new Map<string, HiddenEntry>();
  private lookedUpAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly listed: readonly string[],
    private readonly clock: () => number = Date.now,
    private readonly memory: HiddenPathMemory = processHiddenMemory,
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
      if (id && entry.kind === "file" && id.dev === entry.dev && id.ino === entry.ino) return { listed: entry.listed, how: stillThere(entry) ? "link" : "seen" };
    }
    if (!id) return null;
    const inFolder = this.linkedInFolders.find(({ file, folder }) => counts(folder.real) && file.dev === id.dev && file.ino === id.ino);
    if (inFolder) return { listed: inFolder.file.path, how: "link" };
    const before = this.seen.get(fileKey(id));
    return before && counts(before.real) ? { listed: before.listed, how: "seen" } : null;
  }

  /**
   * Looks the hidden paths up if the last lookup is a second old or more: called before each tool call, so the
   * files are known (and remembered) before a command can move them.
   */
  refresh(): void {
    this.current();
  }

  private current(): HiddenEntry[] {
    const now = this.clock();
    if (now - this.lookedUpAt >= LOOKUP_MS) {
      this.entries = this.memory.entries(this.listed);
      for (const entry of this.entries) if (entry.kind === "file" && !this.seen.has(fileKey(entry))) this.seen.set(fileKey(entry), entry);
      const budget = { left: MAX_HIDDEN_FOLDER_ENTRIES };
      this.linkedInFolders = this.entries
        .filter((entry) => entry.kind === "dir")
        .flatMap((folder) => linkedFilesUnder(folder.real, budget).map((file) => ({ file, folder })));
      this.lookedUpAt = now;
    }
    return this.entries;
  }
}

/** The file is still at its real path (a lookup up to a second old may describe one moved since). */
function stillThere(entry: HiddenEntry): boolean {
  const now = statSync(entry.real, { throwIfNoEntry: false });
  return now !== undefined && now.dev === entry.dev && now.ino === entry.ino;
}

function fileKey(id: FileId): string {
  return `${id.dev}:${id.ino}`;
}

/** The tool error for a hidden file: names the setting, so the operator's choice is not mistaken for a fault. */
export function hiddenFileError(display: string, hiding: Hiding): ToolError {
  const what =
    hiding.how === "link"
      ? `${display} is a hard link to ${hiding.listed}, which is`
      : hiding.how === "seen"
        ? `${display} is the file listed as ${hiding.listed} (moved or linked here), which is`
        : `${display} is`;
  return new ToolError(
    "path_escape",
    `${what} hidden by sandbox.hidden_paths (the operator's list, with the host's config and env file and well-known secrets): ` +
      "no tool may read, search or change it. Nothing was read or written; do not try another way to reach it.",
  );
}
