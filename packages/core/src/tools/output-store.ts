import { closeSync, constants, openSync, realpathSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfinedDir, MakeDirsError } from "@starling/protocol";
import { ToolError } from "./errors.js";

/** Name of the folder, inside the workspace, that keeps full tool outputs. */
export const OUTPUT_DIR = ".output";

/** A new output file, open for reading and writing (`fd`); the caller closes it. */
export interface OutputFile {
  fd: number;
  abs: string;
  display: string;
}

const CREATE = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Keeps full tool outputs under `<workspace>/.output/<area>/`, so bounded previews can point at them.
 * The folder is in the workspace, where tools (and commands in bubblewrap) can plant links, while the
 * worker writes and reads these files outside any sandbox: each file is created new (O_EXCL, never through
 * a link, never over an earlier output, which a worker started in the same second would name alike) in
 * folders opened without following links, and read back only through its descriptor.
 */
export class OutputStore {
  private counter = 0;

  constructor(private readonly workspace: string) {}

  /** Absolute path of `<workspace>/.output/<area>`. */
  private areaDir(area: string): string {
    return join(this.workspace, OUTPUT_DIR, safeName(area));
  }

  /** Creates a new file in `area`, named `<time>-<n>-<label>.<extension>`. */
  create(area: string, label: string, extension: string): OutputFile {
    const root = realpathSync(this.workspace);
    let dir: ConfinedDir;
    try {
      dir = ConfinedDir.open(root, root).makeDirs([OUTPUT_DIR, safeName(area)]);
    } catch (error) {
      if (!(error instanceof MakeDirsError)) throw error;
      const code = (error.cause as NodeJS.ErrnoException).code ?? String(error.cause);
      throw new ToolError("failed", `${OUTPUT_DIR}/${safeName(area)} in the workspace is a link or not a folder (${code}); remove it so tool output can be kept there.`);
    }
    try {
      for (;;) {
        this.counter += 1;
        const name = `${timestamp()}-${this.counter}-${safeName(label)}.${extension}`;
        try {
          const fd = openSync(dir.entry(name), CREATE, 0o644);
          return { fd, abs: join(this.areaDir(area), name), display: `${OUTPUT_DIR}/${safeName(area)}/${name}` };
        } catch (error) {
          // Taken (an earlier worker's output, or anything planted there, a link included): the next number.
          if ((error as NodeJS.ErrnoException).code !== "EEXIST" && (error as NodeJS.ErrnoException).code !== "ELOOP") throw error;
        }
      }
    } finally {
      dir.close();
    }
  }

  /** Writes `text` to a new file in `area`; returns its workspace-relative path. */
  async save(area: string, label: string, text: string): Promise<string> {
    const file = this.create(area, label, "txt");
    try {
      writeSync(file.fd, text, null, "utf8");
    } finally {
      closeSync(file.fd);
    }
    return file.display;
  }
}

function safeName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^\.+/, "").slice(0, 64);
  return cleaned || "output";
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
}
