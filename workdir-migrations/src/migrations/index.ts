import type { Migration } from "../migration.js";
import { initialLayout } from "./0001-initial-layout.js";
import { importStellaclaw } from "./0002-import-stellaclaw.js";
import { auditFolder } from "./0003-audit-folder.js";

/** Every workdir migration, in version order (version N brings the tree from N-1 to N). */
export const MIGRATIONS: readonly Migration[] = [initialLayout, importStellaclaw, auditFolder];
