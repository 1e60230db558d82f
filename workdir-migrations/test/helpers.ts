import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

/** A fresh temporary directory (realpath, so symlink targets compare exactly). */
export async function makeTempDir(prefix = "starling-workdir-"): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** A tree to build: file content, `{ link }` for a symlink, or `{ dir: true }` for an empty folder. */
export type TreeSpec = Record<string, string | { link: string } | { dir: true }>;

export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [relative, entry] of Object.entries(spec)) {
    const target = path.join(root, relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (typeof entry === "string") await fs.writeFile(target, entry);
    else if ("link" in entry) await fs.symlink(entry.link, target);
    else await fs.mkdir(target, { recursive: true });
  }
}

/**
 * Every path under `root` (not following symlinks) mapped to `dir`, `file:<content>` or
 * `link:<target>`, plus each file's mtime so "run again → unchanged" also catches rewrites.
 */
export async function snapshotTree(root: string, withTimes = false): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  async function walk(folder: string): Promise<void> {
    for (const name of (await fs.readdir(folder)).sort()) {
      const full = path.join(folder, name);
      const relative = path.relative(root, full);
      const stat = await fs.lstat(full);
      if (stat.isSymbolicLink()) result[relative] = `link:${await fs.readlink(full)}`;
      else if (stat.isDirectory()) {
        result[relative] = "dir";
        await walk(full);
      } else {
        const content = await fs.readFile(full, "utf8");
        result[relative] = withTimes ? `file@${stat.mtimeMs}:${content}` : `file:${content}`;
      }
    }
  }
  await walk(root);
  return result;
}
