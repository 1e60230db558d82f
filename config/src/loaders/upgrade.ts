import { CONFIG_VERSION, KNOWN_CONFIG_VERSIONS, type KnownConfigVersion } from "../version.js";
import { normalizeCompat } from "./compat.js";
import { detectVersion } from "./detect-version.js";
import { convertPartyClawConfig, isCompactConfig } from "./partyclaw-config.js";
import type { RawConfig, StepResult } from "./raw.js";
import { upgradeV01ToV02 } from "./v0_1-to-v0_2.js";
import { upgradeV02ToV03 } from "./v0_2-to-v0_3.js";
import { upgradeV03ToV04 } from "./v0_3-to-v0_4.js";

/** One upgrade step: a small pure function from one version's shape to the next. */
export interface UpgradeStep {
  from: KnownConfigVersion;
  to: KnownConfigVersion;
  upgrade(config: RawConfig): StepResult;
}

/** The chain, oldest first. Adding a version = adding a step here plus its file and fixture test. */
export const UPGRADE_STEPS: readonly UpgradeStep[] = [
  { from: "0.1", to: "0.2", upgrade: upgradeV01ToV02 },
  { from: "0.2", to: "0.3", upgrade: upgradeV02ToV03 },
  { from: "0.3", to: "0.4", upgrade: upgradeV03ToV04 },
];

export type UpgradeResult =
  | {
      ok: true;
      /** The config in the latest shape, unknown keys kept, no defaults filled in. */
      config: RawConfig;
      /** Set when the file should be rewritten: the version it was upgraded from. */
      upgradedFrom?: string;
      notes: string[];
    }
  | { ok: false; errors: string[]; notes: string[] };

/** Detects the version of `config` and brings it to CONFIG_VERSION step by step. Pure. */
export function upgradeToLatest(input: RawConfig): UpgradeResult {
  const detected = detectVersion(input);
  const notes: string[] = [];
  if (detected.kind === "newer") {
    const [, minor] = detected.version.split(".").map(Number);
    const partyclaw = detected.version.startsWith("0.") && (minor ?? 0) < 28 ? " (an older PartyClaw config must be upgraded to PartyClaw 0.28 first)" : "";
    return {
      ok: false,
      errors: [`version: "${detected.version}" is newer than this Starling understands (latest "${CONFIG_VERSION}"); upgrade Starling${partyclaw}`],
      notes,
    };
  }
  if (detected.kind === "unsupported") {
    return {
      ok: false,
      errors: [`version: unsupported config version "${detected.version}" (known: ${KNOWN_CONFIG_VERSIONS.join(", ")}, PartyClaw 0.28)`],
      notes,
    };
  }
  if (detected.kind === "partyclaw") {
    const converted = convertPartyClawConfig(input, CONFIG_VERSION);
    return converted.ok
      ? { ok: true, config: converted.config, upgradedFrom: "0.28", notes: converted.notes }
      : converted;
  }

  if (detected.assumed) notes.push(`version: ${input.version === undefined ? "missing" : "not a string"}; treated as "0.1"`);
  const compat = normalizeCompat(input);
  let config = compat.config;
  notes.push(...compat.notes);
  if (isCompactConfig(config)) {
    const converted = convertPartyClawConfig(config, detected.version);
    if (!converted.ok) return converted;
    config = converted.config;
    notes.push(...converted.notes);
    if (detected.version === CONFIG_VERSION) {
      notes.push(`models: PartyClaw-style model keys converted in memory; rewrite them in the ${CONFIG_VERSION} shape to silence this`);
    }
  }
  let version: KnownConfigVersion = detected.version;
  for (const step of UPGRADE_STEPS) {
    if (step.from !== version) continue;
    const result = step.upgrade(config);
    config = result.config;
    notes.push(...result.notes);
    version = step.to;
  }
  const upgradedFrom = detected.version === CONFIG_VERSION ? undefined : detected.version;
  return { ok: true, config, ...(upgradedFrom ? { upgradedFrom } : {}), notes };
}
