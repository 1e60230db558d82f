import { convertPartyClawChannels } from "./partyclaw-channels.js";
import { CHAT_PROVIDER_TYPES, convertPartyClawModel, convertWebSearchEntry, type ModelConversion } from "./partyclaw-model.js";
import { asArray, asNumber, asRecord, asString, isRecord, type ConversionResult, type RawConfig } from "./raw.js";

/**
 * PartyClaw (Stellaclaw's predecessor, config version "0.28") → native Stellaclaw 0.4 shape.
 * Stellaclaw 0.2–0.4 files whose models still use the PartyClaw model keys ("compact" configs)
 * go through the same conversion. Pure: reads nothing from disk.
 */

const CONSUMED = new Set([
  "version",
  "agent_server",
  "models",
  "agent",
  "available_models",
  "model_catalog",
  "tooling",
  "chat_model_keys",
  "main_agent",
  "sandbox",
  "channels",
]);
/** Starling-only sections a hand-edited compact config may already have; kept as they are. */
const KEPT = new Set(["$schema", "workers", "recovery", "log"]);

/** True when any model uses PartyClaw keys (`type`, `api_endpoint`, `context_window_tokens`). */
export function isCompactConfig(config: RawConfig): boolean {
  return Object.values(asRecord(config.models)).some(
    (model) => isRecord(model) && ("type" in model || "api_endpoint" in model || "context_window_tokens" in model),
  );
}

function firstString(value: unknown): string | undefined {
  return asString(asArray(value)[0]);
}

/** chat_model_keys → available_models → agent.agent_frame.available_models → first chat model by name. */
function selectMainModel(config: RawConfig, legacyModels: Record<string, unknown>): string | undefined {
  const explicit =
    firstString(config.chat_model_keys) ??
    firstString(config.available_models) ??
    firstString(asRecord(asRecord(config.agent).agent_frame).available_models);
  if (explicit !== undefined) return explicit;
  return Object.keys(legacyModels)
    .sort()
    .find((name) => {
      const model = asRecord(legacyModels[name]);
      return asArray(model.capabilities).includes("chat") || CHAT_PROVIDER_TYPES.has(asString(model.type) ?? "");
    });
}

/** `"alias"` or `"alias:self"` (the main model) → the alias to use; undefined after an error. */
function toolTarget(raw: string, at: string, main: string, models: Record<string, unknown>, errors: string[]) {
  if (raw.trim() === "") {
    errors.push(`${at}: must not be empty`);
    return undefined;
  }
  const colon = raw.indexOf(":");
  const alias = (colon >= 0 ? raw.slice(0, colon) : raw).trim();
  if (colon >= 0 && raw.slice(colon + 1).trim() !== "self") {
    errors.push(`${at}: unsupported suffix "${raw.slice(colon + 1).trim()}"; expected ":self"`);
    return undefined;
  }
  const resolved = colon >= 0 || alias === main ? main : alias;
  if (!(resolved in models)) {
    errors.push(`${at}: unknown model alias "${resolved}"`);
    return undefined;
  }
  return resolved;
}

function convertCompression(config: RawConfig, mainModel: Record<string, unknown>): Record<string, number> {
  const mainAgent = asRecord(config.main_agent);
  if (mainAgent.enable_context_compression !== true) return {};
  const compaction = asRecord(mainAgent.context_compaction);
  const triggerRatio = asNumber(compaction.trigger_ratio) ?? 0;
  const threshold =
    asNumber(compaction.token_limit_override) ??
    Math.floor((asNumber(mainModel.token_max_context) ?? 128000) * (triggerRatio > 0 ? triggerRatio : 0.8));
  const recentRatio = asNumber(compaction.recent_fidelity_target_ratio) ?? 0;
  return {
    compression_threshold_tokens: threshold,
    compression_retain_recent_tokens: Math.max(256, Math.round(threshold * (recentRatio > 0 ? recentRatio : 0.2))),
  };
}

export function convertPartyClawConfig(config: RawConfig, version: string): ConversionResult {
  const out: ModelConversion = { errors: [], notes: [] };
  const legacyModels = asRecord(config.models);
  if (Object.keys(legacyModels).length === 0) out.errors.push("models: a PartyClaw config must define at least one model");
  if (asArray(config.channels).length === 0) out.errors.push("channels: a PartyClaw config must define at least one channel");
  const legacySandbox = asRecord(config.sandbox);
  if (legacySandbox.map_docker_socket === true) out.errors.push("sandbox.map_docker_socket: not supported by Starling");
  if (legacySandbox.mode !== undefined && !["subprocess", "bubblewrap", "disabled"].includes(String(legacySandbox.mode))) {
    out.errors.push('sandbox.mode: must be one of "subprocess", "bubblewrap", "disabled"');
  }

  const models: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(legacyModels)) {
    const model = convertPartyClawModel(raw, `models.${name}`, out);
    if (model) models[name] = model;
  }
  for (const [name, raw] of Object.entries(asRecord(asRecord(config.model_catalog).web_search))) {
    if (!(name in legacyModels)) models[name] = convertWebSearchEntry(raw);
  }

  const main = selectMainModel(config, legacyModels);
  if (main === undefined) out.errors.push("models: cannot tell which model is the main chat model");
  else if (!(main in legacyModels)) out.errors.push(`chat_model_keys: main model "${main}" is not defined in models`);

  const sessionDefaults: Record<string, unknown> = {};
  const knownNames = { ...legacyModels, ...models };
  if (main !== undefined && main in legacyModels) {
    Object.assign(sessionDefaults, convertCompression(config, asRecord(models[main])));
    const tooling = asRecord(config.tooling);
    const mainLegacy = asRecord(legacyModels[main]);
    const targets: [string, string, unknown][] = [
      ["image_tool_model", "tooling.image", tooling.image ?? mainLegacy.image_tool_model],
      ["pdf_tool_model", "tooling.pdf", tooling.pdf],
      ["audio_tool_model", "tooling.audio_input", tooling.audio_input],
      ["image_generation_tool_model", "tooling.image_gen", tooling.image_gen],
      ["search_tool_model", "tooling.web_search", tooling.web_search ?? mainLegacy.web_search],
    ];
    for (const [field, at, raw] of targets) {
      if (typeof raw !== "string") continue;
      const alias = toolTarget(raw, at, main, knownNames, out.errors);
      if (alias !== undefined) sessionDefaults[field] = alias;
    }
  }

  const channels = convertPartyClawChannels(config.channels, out.notes);

  const dropped = Object.keys(config).filter((key) => !CONSUMED.has(key) && !KEPT.has(key));
  if (dropped.length > 0) out.notes.push(`${dropped.join(", ")}: not used after converting the PartyClaw config (dropped)`);
  if (out.errors.length > 0) return { ok: false, errors: out.errors, notes: out.notes };

  const mode = legacySandbox.mode === "bubblewrap" ? "bubblewrap" : "subprocess";
  const converted: RawConfig = {
    version,
    ...(config.agent_server !== undefined ? { agent_server: structuredClone(config.agent_server) } : {}),
    models,
    session_defaults: sessionDefaults,
    sandbox: { mode, bubblewrap_binary: asString(legacySandbox.bubblewrap_binary) ?? "bwrap" },
    channels,
  };
  for (const key of KEPT) if (key in config) converted[key] = structuredClone(config[key]);
  return { ok: true, config: converted, notes: out.notes };
}
