import { promises as fs } from "node:fs";
import { isErrno, writeFileAtomic } from "./fs-utils.js";
import { workdirPaths } from "./layout.js";

/** The workdir was written by a newer Starling than this one. */
export class WorkdirTooNewError extends Error {
  readonly dir: string;
  readonly foundVersion: number;
  readonly knownVersion: number;
  constructor(dir: string, foundVersion: number, knownVersion: number) {
    super(
      `workdir ${dir} is at WORKDIR_VERSION ${foundVersion}, but this Starling only knows workdir versions up to ` +
        `${knownVersion}. Upgrade Starling to a release that knows version ${foundVersion} ` +
        `(or start it with another --workdir); the workdir was left untouched.`,
    );
    this.name = "WorkdirTooNewError";
    this.dir = dir;
    this.foundVersion = foundVersion;
    this.knownVersion = knownVersion;
  }
}

/** WORKDIR_VERSION exists but does not hold a non-negative integer. */
export class WorkdirVersionFileError extends Error {
  readonly file: string;
  constructor(file: string, content: string) {
    super(
      `${file} holds ${JSON.stringify(content.slice(0, 40))}, expected a whole number such as "2". ` +
        `Fix or remove the file (without it, existing content is treated as version 0 and migrated).`,
    );
    this.name = "WorkdirVersionFileError";
    this.file = file;
  }
}

/** The number in WORKDIR_VERSION, or `undefined` when the file does not exist. */
export async function readWorkdirVersion(dir: string): Promise<number | undefined> {
  const file = workdirPaths(dir).versionFile;
  let content: string;
  try {
    content = await fs.readFile(file, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
  const trimmed = content.trim();
  if (!/^\d{1,9}$/.test(trimmed)) throw new WorkdirVersionFileError(file, content);
  return Number(trimmed);
}

/** Writes WORKDIR_VERSION atomically (temporary file + rename). */
export async function writeWorkdirVersion(dir: string, version: number): Promise<void> {
  await writeFileAtomic(workdirPaths(dir).versionFile, `${version}\n`);
}
