import { isRecord, type RawConfig, type StepResult } from "./raw.js";

/**
 * Spellings every Stellaclaw version accepts, normalised before validation: `named_models` is an
 * alias of `models`. Pure; returns the same object when nothing changed.
 */
export function normalizeCompat(config: RawConfig): StepResult {
  if (!("named_models" in config)) return { config, notes: [] };
  const { named_models: namedModels, ...rest } = config;
  if ("models" in config) {
    return { config: rest, notes: ["named_models: ignored because models is also set"] };
  }
  if (!isRecord(namedModels)) return { config, notes: [] };
  return { config: { ...rest, models: namedModels }, notes: ['named_models: read as "models" (the current name)'] };
}
