import { asRecord, isRecord, jsonEqual, type RawConfig, type StepResult } from "./raw.js";

/**
 * 0.2 → 0.3. 0.2 files often carried tool models as inline copies of a named model (that is how the
 * PartyClaw converter wrote them). An inline target that exactly equals a model in `models` is
 * replaced by that model's alias, so a later edit of the model applies to the tool too.
 */
/** The tool-model fields of 0.2 (frozen here: a step must not change when the latest schema does). */
const TOOL_MODEL_FIELDS = [
  "image_tool_model",
  "pdf_tool_model",
  "audio_tool_model",
  "image_generation_tool_model",
  "search_tool_model",
] as const;

export function upgradeV02ToV03(config: RawConfig): StepResult {
  const next = structuredClone(config);
  const notes: string[] = [];
  const models = asRecord(next.models);
  const defaults = next.session_defaults;
  if (isRecord(defaults)) {
    for (const field of TOOL_MODEL_FIELDS) {
      const target = defaults[field];
      if (!isRecord(target)) continue;
      const alias = Object.keys(models).find((name) => jsonEqual(models[name], target));
      if (alias === undefined) continue;
      defaults[field] = alias;
      notes.push(`session_defaults.${field}: inline model replaced by its alias "${alias}"`);
    }
  }
  next.version = "0.3";
  return { config: next, notes };
}
