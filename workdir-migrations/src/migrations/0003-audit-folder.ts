import { promises as fs } from "node:fs";
import { ensureDir } from "../fs-utils.js";
import { workdirPaths } from "../layout.js";
import type { Migration } from "../migration.js";

/**
 * `audit/`: the per-conversation audit logs (docs/SECURITY.md "Audit log"). It sits beside
 * `conversations/`, not inside a workspace, so a tool cannot rewrite it in bubblewrap mode; only the
 * owner may read it (it names every command the agent ran).
 */
export const auditFolder: Migration = {
  version: 3,
  name: "0003-audit-folder",
  async up(dir) {
    const { audit } = workdirPaths(dir);
    await ensureDir(audit);
    await fs.chmod(audit, 0o700);
  },
};
