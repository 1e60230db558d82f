import { ensureDir } from "../fs-utils.js";
import { workdirPaths } from "../layout.js";
import type { Migration } from "../migration.js";

/**
 * The Starling tree of ARCHITECTURE §7: `state/host`, `logs`, `rundir/.skill`,
 * `rundir/shared` and `conversations`. Only creates what is missing.
 */
export const initialLayout: Migration = {
  version: 1,
  name: "0001-initial-layout",
  async up(dir) {
    const paths = workdirPaths(dir);
    for (const folder of [paths.hostDb, paths.logs, paths.skills, paths.shared, paths.conversations]) {
      await ensureDir(folder);
    }
  },
};
