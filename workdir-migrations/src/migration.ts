/** What a migration gets besides the workdir path. */
export interface MigrationContext {
  /** Progress and notices, one line each (the host forwards them to its logger). */
  log: (message: string) => void;
}

/**
 * One numbered step of the workdir schema. `up` must be idempotent: running it again on
 * a tree it already migrated (e.g. after a crash before WORKDIR_VERSION was written)
 * changes nothing. `dir` is the canonical absolute workdir path.
 */
export interface Migration {
  version: number;
  name: string;
  up(dir: string, context?: MigrationContext): Promise<void>;
}

export const silentContext: MigrationContext = { log: () => {} };
