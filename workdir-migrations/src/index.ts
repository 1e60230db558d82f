// Upgrading a workdir
export {
  LATEST_WORKDIR_VERSION,
  upgradeWorkdir,
  WorkdirMigrationError,
  type UpgradeOptions,
  type UpgradeResult,
} from "./upgrade.js";
export { readWorkdirVersion, WorkdirTooNewError, WorkdirVersionFileError } from "./version.js";

// Paths of the layout (ARCHITECTURE §7)
export {
  auditLogPath,
  conversationWorkspace,
  isSafeFolderName,
  WORKDIR_VERSION_FILE,
  workdirPaths,
  type WorkdirPaths,
} from "./layout.js";

// Migrations, for tooling and tests
export type { Migration, MigrationContext } from "./migration.js";
export { MIGRATIONS } from "./migrations/index.js";

// What migration 0002 leaves for the host to import from a Stellaclaw workdir
export {
  readStellaclawImport,
  STELLACLAW_IMPORT_FILE,
  stellaclawImportPath,
  type StellaclawChannel,
  type StellaclawChat,
  type StellaclawChatState,
  type StellaclawConversation,
  type StellaclawCronTask,
  type StellaclawImport,
} from "./stellaclaw/import-file.js";
export { UnsupportedStellaclawWorkdirError } from "./stellaclaw/detect.js";
