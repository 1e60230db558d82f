import type { ModelConfig } from "@starling/protocol";
import { TOOL_MODEL_FIELDS, type StarlingConfig } from "@starling/config";

/**
 * `session_defaults.*_tool_model` resolved to ModelConfigs, keyed by field name (what
 * `initialize.helperModels` carries; the worker's HelperModels reads these keys). An alias names
 * a model of `models`; `"<alias>:self"` and an absent field mean "the session's own model" and are
 * left out, so the worker falls back to its model. The config loader has already rejected unknown
 * aliases and bad suffixes.
 */
export function resolveToolModels(config: StarlingConfig): Record<string, ModelConfig> {
  const out: Record<string, ModelConfig> = {};
  for (const field of TOOL_MODEL_FIELDS) {
    const target = config.session_defaults?.[field];
    if (target === undefined || target === null) continue;
    if (typeof target !== "string") {
      out[field] = target;
      continue;
    }
    if (target.endsWith(":self")) continue;
    const model = config.models[target];
    if (model) out[field] = model;
  }
  return out;
}
