// @starling/config — the user config of Starling: schema, versioned loaders, editor JSON Schema,
// systemd unit template.

export {
  StarlingConfig,
  type StarlingConfigInput,
  TelegramChannelConfig,
  ChannelConfig,
  SessionDefaults,
  SandboxConfig,
  ToolModelTarget,
  TOOL_MODEL_FIELDS,
  type ToolModelField,
} from "./schema.js";
export { CONFIG_VERSION, KNOWN_CONFIG_VERSIONS } from "./version.js";
export { loadConfig, type LoadOptions } from "./load-config.js";
export { parseConfig, type LoadResult, type ParseOptions } from "./parse-config.js";
export type { Env } from "./secrets.js";
export { secretEnvNames, secretValues } from "./secret-names.js";
export { McpServerConfig, McpServersConfig } from "./mcp-schema.js";
export { upgradeToLatest, UPGRADE_STEPS, type UpgradeStep, type UpgradeResult } from "./loaders/upgrade.js";
export { configJsonSchema, CONFIG_SCHEMA_FILE } from "./json-schema.js";
export { renderSystemdUnit, type SystemdUnitOptions } from "./systemd.js";
export { ENV_FILE_NAME, defaultEnvFilePath, readEnvFile, mergedEnv, loadSecrets, updateEnvText, type EnvFileRead } from "./env-file.js";
