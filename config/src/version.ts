/** The config schema version this package writes and validates against (Stellaclaw-compatible). */
export const CONFIG_VERSION = "0.4";

/** Native config versions, oldest first. A file without `version` is treated as the oldest. */
export const KNOWN_CONFIG_VERSIONS = ["0.1", "0.2", "0.3", "0.4"] as const;
export type KnownConfigVersion = (typeof KNOWN_CONFIG_VERSIONS)[number];

/** The PartyClaw (Stellaclaw's predecessor) config version that is converted on load. */
export const PARTYCLAW_CONFIG_VERSION = "0.28";
