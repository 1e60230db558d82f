import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Name of the folder, inside the workspace, that keeps full tool outputs. */
export const OUTPUT_DIR = ".output";

/** Keeps full tool outputs under `<workspace>/.output/<area>/`, so bounded previews can point at them. */
export class OutputStore {
  private counter = 0;

  constructor(private readonly workspace: string) {}

  /** Absolute path of `<workspace>/.output/<area>`. */
  areaDir(area: string): string {
    return join(this.workspace, OUTPUT_DIR, safeName(area));
  }

  /** A fresh file name in `area` (not created), unique within this process. */
  newFile(area: string, label: string, extension: string): { abs: string; display: string } {
    this.counter += 1;
    const name = `${timestamp()}-${this.counter}-${safeName(label)}.${extension}`;
    return { abs: join(this.areaDir(area), name), display: `${OUTPUT_DIR}/${safeName(area)}/${name}` };
  }

  /** Writes `text` to a new file in `area`; returns its workspace-relative path. */
  async save(area: string, label: string, text: string): Promise<string> {
    const file = this.newFile(area, label, "txt");
    await mkdir(this.areaDir(area), { recursive: true });
    await writeFile(file.abs, text, "utf8");
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
