import { CONFIG_VERSION, KNOWN_CONFIG_VERSIONS, PARTYCLAW_CONFIG_VERSION, type KnownConfigVersion } from "../version.js";
import type { RawConfig } from "./raw.js";

export type DetectedVersion =
  | { kind: "native"; version: KnownConfigVersion; assumed: boolean }
  | { kind: "partyclaw" }
  | { kind: "newer"; version: string }
  | { kind: "unsupported"; version: string };

const parse = (version: string): [number, number] | undefined => {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
};

/** Reads `version`. Missing (or not a string, as in Stellaclaw) means the oldest version, "0.1". */
export function detectVersion(config: RawConfig): DetectedVersion {
  const raw = config.version;
  if (typeof raw !== "string") return { kind: "native", version: "0.1", assumed: true };
  const version = raw;
  const known = KNOWN_CONFIG_VERSIONS.find((v) => v === version);
  if (known) return { kind: "native", version: known, assumed: false };
  if (version === PARTYCLAW_CONFIG_VERSION) return { kind: "partyclaw" };
  const parsed = parse(version);
  const latest = parse(CONFIG_VERSION) ?? [0, 0];
  if (parsed && (parsed[0] > latest[0] || (parsed[0] === latest[0] && parsed[1] > latest[1]))) {
    return { kind: "newer", version };
  }
  return { kind: "unsupported", version };
}
