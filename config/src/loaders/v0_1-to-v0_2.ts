import type { RawConfig, StepResult } from "./raw.js";

/**
 * 0.1 → 0.2. Stellaclaw 0.1 files already use the native shape (models, session_defaults, sandbox,
 * channels); the step only records the new version. (`named_models`, accepted by every version, is
 * handled by `normalizeCompat`.)
 */
export function upgradeV01ToV02(config: RawConfig): StepResult {
  return { config: { ...structuredClone(config), version: "0.2" }, notes: [] };
}
