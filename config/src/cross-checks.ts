import { MIN_CHAT_CONTEXT_TOKENS, TOOL_RESULT_TOKENS, unknownToolNames } from "@starling/protocol";
import { asArray, asNumber, asRecord, asString, isRecord, type RawConfig } from "./loaders/raw.js";
import { checkClaudeThinking } from "./claude-thinking-checks.js";
import { checkMcpServers } from "./mcp-checks.js";
import { TOOL_MODEL_FIELDS, type ToolModelField } from "./schema.js";

/**
 * Checks that span several fields. They run on the raw (upgraded) config next to schema validation,
 * so one run lists every problem; values of the wrong type are left to the schema errors.
 */

export interface CheckResult {
  errors: string[];
  warnings: string[];
}

const TOOL_CAPABILITY: Record<ToolModelField, string> = {
  image_tool_model: "image_in",
  pdf_tool_model: "pdf_in",
  audio_tool_model: "audio_in",
  image_generation_tool_model: "image_out",
  search_tool_model: "web_search",
};

/** A model's capabilities, `["chat"]` when unset (the ModelConfig default), undefined when malformed. */
export function capabilitiesOf(model: unknown): string[] | undefined {
  if (!isRecord(model)) return undefined;
  if (model.capabilities === undefined) return ["chat"];
  return Array.isArray(model.capabilities) ? model.capabilities.filter((c): c is string => typeof c === "string") : undefined;
}

function checkModels(models: Record<string, unknown>, out: CheckResult): void {
  const names = Object.keys(models);
  if (names.length === 0) {
    out.errors.push("models: at least one model is required");
    return;
  }
  for (const name of names) checkProviderType(models[name], `models.${name}`, out);
  for (const name of names) checkContextWindow(models[name], `models.${name}`, out);
  for (const name of names) checkModelFields(models[name], `models.${name}`, out);
  const capabilities = names.map((name) => capabilitiesOf(models[name]));
  if (capabilities.some((c) => c === undefined)) return; // malformed model: the schema error says why
  if (!capabilities.some((c) => c?.includes("chat"))) {
    out.errors.push('models: at least one model needs the "chat" capability (it answers the conversation)');
  }
}

/** A chat model whose window cannot hold one bounded tool result next to the prompt and tools would fail every tool turn. */
function checkContextWindow(model: unknown, at: string, out: CheckResult): void {
  const window = asNumber(asRecord(model).token_max_context);
  if (window === undefined || window >= MIN_CHAT_CONTEXT_TOKENS || !capabilitiesOf(model)?.includes("chat")) return;
  const name = asString(asRecord(model).model_name) ?? "?";
  out.errors.push(
    `${at}.token_max_context: ${window} tokens is too small for a chat model ("${name}"): one tool result alone takes up to ~${TOOL_RESULT_TOKENS} tokens, and the system prompt, tool definitions and the answer need room next to it; Starling needs at least ${MIN_CHAT_CONTEXT_TOKENS} (set the model's real window, or use a model with a larger one)`,
  );
}

/** Model fields a non-chat provider never reads (it sends no conversation and streams nothing back). */
const UNUSED_BY: Record<string, readonly string[]> = {
  brave_search: ["reasoning", "multimodal_input", "multimodal_estimator", "stream_idle_timeout", "max_output_tokens"],
  openai_image: ["reasoning", "multimodal_input", "multimodal_estimator", "max_output_tokens"],
  openai_image_edit: ["reasoning", "multimodal_input", "multimodal_estimator", "max_output_tokens"],
};

/** A Claude model (Anthropic Messages, or Anthropic through OpenRouter chat completions): the only ones `cache_timeout` steers. */
function isClaude(type: string, name: string): boolean {
  return (type === "claude_code" && name.startsWith("claude-")) || (type === "open_router_completion" && name.startsWith("anthropic/claude-"));
}

/**
 * Fields a model's provider would accept but never act on are errors (the user would believe they work);
 * the token estimator Starling does not have is a warning (PartyClaw upgrades write it).
 */
function checkModelFields(model: unknown, at: string, out: CheckResult): void {
  const fields = asRecord(model);
  const type = asString(fields.provider_type);
  if (type === undefined) return;
  for (const field of UNUSED_BY[type] ?? []) {
    if (fields[field] !== undefined) out.errors.push(`${at}.${field}: "${type}" models do not use it (it only matters for chat models); remove it`);
  }
  checkOutputLimit(fields, type, at, out);
  if (fields.effort !== undefined && type !== "claude_code") {
    out.errors.push(
      `${at}.effort: only claude_code models use it (Anthropic's output_config.effort), not "${type}" ones; remove it${CHAT_PROVIDERS.includes(type) ? ' (an OpenAI-style reasoning effort is written "reasoning": {"effort": "medium"})' : ""}`,
    );
  }
  const cache = fields.cache_timeout;
  if (typeof cache === "number" && cache !== 300 && cache !== 3600 && isClaude(type, asString(fields.model_name) ?? "")) {
    out.errors.push(`${at}.cache_timeout: Anthropic's prompt cache lives 300 or 3600 seconds, not ${cache}; set 300 or 3600, or remove it for no caching`);
  }
  if (fields.token_estimator_type === "hugging_face" || fields.token_estimator_url !== undefined) {
    out.warnings.push(
      `${at}.token_estimator_type: Starling does not download tokenizers ("hugging_face" and token_estimator_url are not used); token counts are about 4 characters per token, or the model's own tokenizer with "local" on OpenAI-family models`,
    );
  }
}

/** `max_output_tokens`: the Codex backend refuses the parameter (400 for every request), so it is an error there. */
function checkOutputLimit(fields: Record<string, unknown>, type: string, at: string, out: CheckResult): void {
  if (type === "codex_subscription" && fields.max_output_tokens !== undefined) {
    out.errors.push(`${at}.max_output_tokens: the ChatGPT Codex backend refuses an output limit ("Unsupported parameter: max_output_tokens") and sets its own; remove it`);
  }
  if (type === "claude_code") checkClaudeThinking(fields, at, out);
}

const CHAT_PROVIDERS = ["open_router_completion", "open_router_responses", "claude_code", "codex_subscription"];
/** The provider_types a tool-model field can use (undefined: any chat provider). */
const TOOL_PROVIDERS: Partial<Record<ToolModelField, string[]>> = {
  search_tool_model: ["brave_search"],
  image_generation_tool_model: ["openai_image", "openai_image_edit"],
};

const KNOWN_PROVIDERS = [...CHAT_PROVIDERS, ...Object.values(TOOL_PROVIDERS).flat()];

/** provider_types the worker cannot run, and roles a provider cannot play, are errors: never a silent load. */
function checkProviderType(model: unknown, at: string, out: CheckResult, role?: ToolModelField): void {
  const type = asString(asRecord(model).provider_type);
  // An unknown provider_type is the schema's error to report; the checks below would only add a misleading one.
  if (type === undefined || !KNOWN_PROVIDERS.includes(type)) return;
  if (type === "codex_subscription") {
    const url = asString(asRecord(model).url);
    if (url !== undefined && !/^(https?|wss?):\/\//i.test(url)) {
      out.errors.push(`${at}.url: codex_subscription needs an https://, http://, wss:// or ws:// URL (e.g. "https://chatgpt.com/backend-api/codex/responses"), not "${url}"`);
    }
  }
  const allowed = role ? (TOOL_PROVIDERS[role] ?? CHAT_PROVIDERS) : undefined;
  if (role && allowed && !allowed.includes(type)) {
    if (TOOL_PROVIDERS[role] && CHAT_PROVIDERS.includes(type)) {
      // Upgraded PartyClaw configs name chat models here; they load, and the tool says what is missing.
      const effect = role === "search_tool_model" ? "web_search uses the keyless fallback" : "image_generation is not offered";
      out.warnings.push(`${at}.provider_type: session_defaults.${role} needs a ${allowed.join(" or ")} model, not "${type}"; ${effect}`);
    } else {
      out.errors.push(`${at}.provider_type: session_defaults.${role} cannot use a "${type}" model (use ${allowed.join(" or ")})`);
    }
  }
  if (!role && capabilitiesOf(model)?.includes("chat") && !CHAT_PROVIDERS.includes(type)) {
    out.errors.push(`${at}.capabilities: a "${type}" model cannot chat; remove "chat" (use it as a session_defaults.*_tool_model)`);
  }
}

function checkToolTargets(config: RawConfig, models: Record<string, unknown>, out: CheckResult): void {
  const defaults = asRecord(config.session_defaults);
  const known = Object.keys(models);
  for (const field of TOOL_MODEL_FIELDS) {
    const target = defaults[field];
    const at = `session_defaults.${field}`;
    let model: unknown;
    let modelAt = at;
    if (typeof target === "string") {
      const text = target.trim();
      if (text === "" || text in models) {
        model = models[text];
        modelAt = `models.${text}`;
      } else if (text.includes(":")) {
        const colon = text.lastIndexOf(":");
        const suffix = text.slice(colon + 1);
        if (suffix !== "self") out.errors.push(`${at}: unsupported suffix ":${suffix}"; use "<alias>" or "<alias>:self"`);
        else if (text.slice(0, colon).trim() === "") out.errors.push(`${at}: ":self" needs an alias before it, e.g. "main:self"`);
        continue;
      } else {
        out.errors.push(`${at}: unknown model alias "${text}" (models: ${known.join(", ") || "none"})`);
        continue;
      }
    } else if (isRecord(target)) {
      model = target;
      checkModelFields(target, at, out);
    } else {
      continue;
    }
    if (model !== undefined) checkProviderType(model, modelAt, out, field);
    const capabilities = capabilitiesOf(model);
    const needed = TOOL_CAPABILITY[field];
    if (capabilities && !capabilities.includes(needed)) {
      out.warnings.push(`${at}: the model has no "${needed}" capability; the tool may not work with it`);
    }
  }
}

function checkCompression(config: RawConfig, models: Record<string, unknown>, out: CheckResult): void {
  const defaults = asRecord(config.session_defaults);
  const threshold = asNumber(defaults.compression_threshold_tokens);
  const retain = asNumber(defaults.compression_retain_recent_tokens);
  if (threshold === undefined) return;
  if (retain !== undefined && retain >= threshold) {
    out.errors.push(
      `session_defaults.compression_retain_recent_tokens: must be smaller than compression_threshold_tokens (${threshold})`,
    );
  }
  for (const [name, model] of Object.entries(models)) {
    const context = asNumber(asRecord(model).token_max_context);
    if (context !== undefined && capabilitiesOf(model)?.includes("chat") && threshold > context) {
      out.warnings.push(
        `session_defaults.compression_threshold_tokens: ${threshold} is above models.${name}.token_max_context (${context}); that model's context fills up before compaction starts`,
      );
    }
  }
}

function checkChannels(config: RawConfig, out: CheckResult): void {
  const seen = new Map<string, number>();
  asArray(config.channels).forEach((channel, index) => {
    const id = asString(asRecord(channel).id);
    if (id === undefined) return;
    const first = seen.get(id);
    if (first !== undefined) out.errors.push(`channels.${index}.id: duplicate channel id "${id}" (also channels.${first}.id)`);
    else seen.set(id, index);
  });
}

/** The model new conversations start on must be a chat model of the config: a wrong name would be silently skipped. */
function checkDefaultProfile(config: RawConfig, models: Record<string, unknown>, out: CheckResult): void {
  const main = asRecord(config.default_profile).main_model;
  if (typeof main !== "string" || main.trim() === "") return; // the schema reports it
  const alias = main.trim();
  const chat = Object.keys(models).filter((name) => capabilitiesOf(models[name])?.includes("chat"));
  const known = `chat models: ${chat.join(", ") || "none"}`;
  if (chat.includes(alias)) return;
  if (alias in models) {
    out.errors.push(`default_profile.main_model: models.${alias} cannot chat (no "chat" capability); name a chat model (${known})`);
    return;
  }
  const byName = chat.find((name) => asRecord(models[name]).model_name === alias);
  const hint = byName ? `; "${alias}" is the model_name of models.${byName}, use its alias "${byName}"` : "";
  out.errors.push(`default_profile.main_model: unknown model alias "${alias}" (${known})${hint}`);
}

function checkToolDeny(config: RawConfig, out: CheckResult): void {
  const deny = asArray(asRecord(config.tools).deny).filter((name): name is string => typeof name === "string");
  const unknown = unknownToolNames(deny);
  if (unknown.length) {
    out.warnings.push(
      `tools.deny: no tool named ${unknown.map((n) => JSON.stringify(n)).join(", ")}; it denies nothing (tool names are listed in docs/ARCHITECTURE.md §9; MCP tools are mcp__<server>__<tool>, exact names without patterns: to leave out several tools of a server use mcp_servers.<server>.tools.deny or tools.allow)`,
    );
  }
}

export function crossFieldChecks(config: RawConfig): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  if (isRecord(config.models)) {
    checkModels(config.models, out);
    checkToolTargets(config, config.models, out);
    checkCompression(config, config.models, out);
    checkDefaultProfile(config, config.models, out);
  }
  checkChannels(config, out);
  checkToolDeny(config, out);
  checkMcpServers(config, out);
  return out;
}
