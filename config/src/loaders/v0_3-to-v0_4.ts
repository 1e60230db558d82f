import type { RawConfig, StepResult } from "./raw.js";

/** 0.3 → 0.4. The shapes are identical; Stellaclaw's 0.3 loader only bumps the version. */
export function upgradeV03ToV04(config: RawConfig): StepResult {
  return { config: { ...structuredClone(config), version: "0.4" }, notes: [] };
}
