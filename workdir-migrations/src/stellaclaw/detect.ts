import { promises as fs } from "node:fs";
import path from "node:path";
import { isErrno, isRealDirectory } from "../fs-utils.js";
import { stellaclawLogDir } from "./host-state.js";

/** Stellaclaw workdir versions whose layout migration 0002 understands (0.3→0.4 only rewrote model references). */
export const IMPORTABLE_STELLACLAW_VERSIONS = ["0.2", "0.3", "0.4", "0.5"] as const;

export class UnsupportedStellaclawWorkdirError extends Error {
  readonly foundVersion: string;
  constructor(dir: string, foundVersion: string) {
    super(
      `${dir} is a Stellaclaw/PartyClaw workdir of version ${foundVersion}, which Starling cannot import. ` +
        `Start Stellaclaw 0.5 once on it to upgrade it to workdir version 0.5, then start Starling again.`,
    );
    this.name = "UnsupportedStellaclawWorkdirError";
    this.foundVersion = foundVersion;
  }
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "EISDIR")) return undefined;
    throw error;
  }
}

/**
 * The Stellaclaw workdir schema version of `dir`, or `undefined` when it is not a
 * Stellaclaw workdir. Stellaclaw's rule: `STELLA_VERSION`, else the legacy `VERSION`,
 * else "0.1". A tree counts as Stellaclaw when it has `STELLA_VERSION`, `.log/stellaclaw/`,
 * or a legacy `VERSION` holding a `0.N` version.
 */
export async function detectStellaclawVersion(dir: string): Promise<string | undefined> {
  const stella = await readTrimmed(path.join(dir, "STELLA_VERSION"));
  if (stella !== undefined) return stella;
  const legacy = await readTrimmed(path.join(dir, "VERSION"));
  if (legacy !== undefined && /^0\.\d+$/.test(legacy)) return legacy;
  if (await isRealDirectory(stellaclawLogDir(dir))) return legacy ?? "0.1";
  return undefined;
}

export function isImportableStellaclawVersion(version: string): boolean {
  return (IMPORTABLE_STELLACLAW_VERSIONS as readonly string[]).includes(version);
}
