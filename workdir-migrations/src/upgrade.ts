import { promises as fs } from "node:fs";
import path from "node:path";
import { listDir } from "./fs-utils.js";
import type { Migration, MigrationContext } from "./migration.js";
import { MIGRATIONS } from "./migrations/index.js";
import { readWorkdirVersion, WorkdirTooNewError, writeWorkdirVersion } from "./version.js";

/** A migration threw; WORKDIR_VERSION still names the last version that completed. */
export class WorkdirMigrationError extends Error {
  readonly migration: string;
  readonly completedVersion: number;
  constructor(dir: string, migration: string, completedVersion: number, cause: unknown) {
    super(
      `workdir migration ${migration} failed in ${dir}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        `The workdir stays at version ${completedVersion}; fix the cause and start again (migrations are safe to rerun).`,
      { cause },
    );
    this.name = "WorkdirMigrationError";
    this.migration = migration;
    this.completedVersion = completedVersion;
  }
}

export interface UpgradeOptions {
  /** One line per step and notice (e.g. the host logger's `info`). */
  log?: (message: string) => void;
  /** Replaces the built-in list (tests). Versions must be 1, 2, 3, … in order. */
  migrations?: readonly Migration[];
}

export interface UpgradeResult {
  /** Version found (0 for a fresh or pre-Starling tree). */
  from: number;
  to: number;
  /** Names of the migrations run, in order. */
  applied: string[];
  /** True when the workdir did not exist or was empty. */
  created: boolean;
  /** Canonical absolute path of the workdir. */
  dir: string;
}

function checkOrder(migrations: readonly Migration[]): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`workdir migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
    }
  });
  return migrations.length;
}

/** The workdir version this Starling writes. */
export const LATEST_WORKDIR_VERSION: number = checkOrder(MIGRATIONS);

/**
 * Brings `dir` to the latest workdir version. A missing or empty directory becomes a
 * fresh workdir; a directory with content but no WORKDIR_VERSION is version 0
 * (pre-Starling, e.g. Stellaclaw) and is migrated; a newer version than known is
 * refused with {@link WorkdirTooNewError} before anything is touched. WORKDIR_VERSION is
 * written after each migration succeeds, so an interrupted upgrade resumes where it
 * stopped. Not safe to run twice concurrently on the same directory.
 */
export async function upgradeWorkdir(dir: string, options: UpgradeOptions = {}): Promise<UpgradeResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = checkOrder(migrations);
  const log = options.log ?? (() => {});
  await fs.mkdir(path.resolve(dir), { recursive: true });
  const root = await fs.realpath(path.resolve(dir));
  const found = await readWorkdirVersion(root);
  const created = found === undefined && (await listDir(root)).length === 0;
  const from = found ?? 0;
  if (from > latest) throw new WorkdirTooNewError(root, from, latest);

  const context: MigrationContext = { log };
  const applied: string[] = [];
  if (created) log(`creating workdir ${root} (version ${latest})`);
  else if (from < latest) log(`upgrading workdir ${root} from version ${from} to ${latest}`);
  for (const migration of migrations.slice(from)) {
    log(`workdir migration ${migration.name}`);
    try {
      await migration.up(root, context);
    } catch (error) {
      throw new WorkdirMigrationError(root, migration.name, migration.version - 1, error);
    }
    await writeWorkdirVersion(root, migration.version);
    applied.push(migration.name);
  }
  return { from, to: latest, applied, created, dir: root };
}
