import { asArray, asNumber, asRecord, asString, isRecord } from "./raw.js";

/** Converts one PartyClaw ("compact") model to a native ModelConfig. Pure; problems go to `errors`. */

const PROVIDER_TYPES: Record<string, string> = {
  openrouter: "open_router_completion",
  "openrouter-resp": "open_router_responses",
  "codex-subscription": "codex_subscription",
  "claude-code": "claude_code",
  "brave-search": "brave_search",
};

export const CHAT_PROVIDER_TYPES = new Set(["openrouter", "openrouter-resp", "claude-code", "codex-subscription"]);

const CAPABILITY_ORDER = ["chat", "image_in", "image_out", "pdf_in", "audio_in", "file_in", "web_search"];
const LEGACY_CAPABILITIES: Record<string, string> = {
  chat: "chat",
  web_search: "web_search",
  image_in: "image_in",
  image_out: "image_out",
  pdf: "pdf_in",
  pdf_in: "pdf_in",
  audio_in: "audio_in",
  file_in: "file_in",
};

export interface ModelConversion {
  errors: string[];
  notes: string[];
}

/** `https://host/v1/` + `chat/completions` → `https://host/v1/chat/completions`. */
export function joinEndpoint(base: string, path: string): string {
  const trimmed = base.replace(/\/+$/, "");
  const suffix = path === "" ? "/chat/completions" : path;
  return suffix.startsWith("/") ? `${trimmed}${suffix}` : `${trimmed}/${suffix}`;
}

/** `"5m"` → 300, `"1h"` → 3600, `"90"` → 90; undefined when it cannot be read. */
export function parseCacheTtl(raw: string): number | undefined {
  const text = raw.trim();
  const match = /^(\d+)([smhd]?)$/.exec(text);
  if (!match) return undefined;
  const factor = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * factor;
}

export function sortCapabilities(capabilities: Iterable<string>): string[] {
  return [...new Set(capabilities)].sort((a, b) => CAPABILITY_ORDER.indexOf(a) - CAPABILITY_ORDER.indexOf(b));
}

/** The multimodal input PartyClaw implied for a capability list (all inline base64). */
export function multimodalFromCapabilities(capabilities: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (capabilities.includes("image_in")) {
    out.image = {
      transport: "inline_base64",
      supported_media_types: ["image/png", "image/jpeg", "image/webp", "image/gif"],
      max_width: 4096,
      max_height: 4096,
    };
  }
  if (capabilities.includes("pdf_in")) out.pdf = { transport: "inline_base64", supported_media_types: ["application/pdf"] };
  if (capabilities.includes("audio_in")) {
    out.audio = {
      transport: "inline_base64",
      supported_media_types: ["audio/mpeg", "audio/mp3", "audio/wav", "audio/ogg", "audio/webm", "audio/flac", "audio/mp4"],
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function convertRetryMode(raw: unknown, at: string, out: ModelConversion): unknown {
  const retry = raw === undefined ? { mode: "no" } : asRecord(raw);
  if (retry.mode === "no") return "once";
  if (retry.mode === "random") {
    const mean = asNumber(retry.retry_random_mean) ?? 1;
    return { random_interval: { max_interval_secs: Math.max(1, Math.ceil(mean)), max_retries: asNumber(retry.max_retries) ?? 0 } };
  }
  out.errors.push(`${at}.retry_mode: expected {"mode": "no"} or {"mode": "random", ...}`);
  return "once";
}

/** PartyClaw token estimation → [token_estimator_type, token_estimator_url?]. */
function convertTokenEstimation(raw: unknown, at: string, out: ModelConversion): [string, string?] {
  if (raw === undefined || raw === null) return ["local"];
  const config = asRecord(raw);
  const where = `${at}.token_estimation`;
  const hfUrl = (repo: string, revision: unknown) =>
    `https://huggingface.co/${repo}/raw/${asString(revision) ?? "main"}/tokenizer_config.json`;
  if (config.source === "huggingface") {
    const repo = asString(config.repo);
    if (repo) return ["hugging_face", hfUrl(repo, config.revision)];
    out.errors.push(`${where}.repo: required when source is "huggingface"`);
    return ["local"];
  }
  const template = asRecord(config.template);
  const tokenizer = asRecord(config.tokenizer);
  if (template.source === "huggingface") {
    const repo = asString(template.repo) ?? "";
    const file = asString(template.file) ?? "tokenizer_config.json";
    const problems: string[] = [];
    if ((asString(template.field) ?? "chat_template") !== "chat_template") problems.push("template.field must be chat_template");
    if (tokenizer.source !== "huggingface") problems.push("template and tokenizer must both come from huggingface");
    else if (tokenizer.repo !== template.repo) problems.push("template and tokenizer use different repos");
    else if ((asString(tokenizer.file) ?? "tokenizer.json") !== "tokenizer.json") problems.push("tokenizer.file must be tokenizer.json");
    else if ((asString(tokenizer.revision) ?? "main") !== (asString(template.revision) ?? "main")) problems.push("template and tokenizer use different revisions");
    if (file !== "tokenizer_config.json" && file !== "chat_template.jinja") problems.push(`template.file "${file}" is not supported`);
    if (problems.length > 0) {
      out.errors.push(...problems.map((p) => `${where}: ${p}`));
      return ["local"];
    }
    if (file === "chat_template.jinja") out.notes.push(`${where}: cached chat_template.jinja is not migrated; using ${repo}'s tokenizer_config.json`);
    return ["hugging_face", hfUrl(repo, template.revision)];
  }
  if (tokenizer.source === "tiktoken") {
    const encoding = asString(tokenizer.encoding) ?? "auto";
    if (encoding === "auto") return ["local"];
    out.errors.push(`${where}.tokenizer.encoding: explicit tiktoken encoding "${encoding}" is not supported (use "auto")`);
    return ["local"];
  }
  if (template.source === "local" && tokenizer.source === "local") {
    out.notes.push(`${where}: local template/tokenizer files are not migrated; using the local token estimator`);
    return ["local"];
  }
  out.errors.push(`${where}: unsupported token_estimation configuration`);
  return ["local"];
}

/** Converts `models.<name>` of a PartyClaw config. `at` is its path for messages. */
export function convertPartyClawModel(raw: unknown, at: string, out: ModelConversion): Record<string, unknown> | undefined {
  if (!isRecord(raw)) {
    out.errors.push(`${at}: expected an object`);
    return undefined;
  }
  const before = out.errors.length;
  const type = asString(raw.type);
  const providerType = type === undefined ? undefined : PROVIDER_TYPES[type];
  if (!providerType) out.errors.push(`${at}.type: must be one of ${Object.keys(PROVIDER_TYPES).join(", ")}`);
  const endpoint = asString(raw.api_endpoint);
  if (!endpoint) out.errors.push(`${at}.api_endpoint: required (expected string)`);
  const modelName = asString(raw.model);
  if (!modelName) out.errors.push(`${at}.model: required (expected string)`);
  if (Object.keys(asRecord(raw.headers)).length > 0) out.errors.push(`${at}.headers: custom headers are not supported`);
  if (asRecord(raw.native_web_search).enabled === true) out.errors.push(`${at}.native_web_search: native web search is not supported`);

  const capabilities: string[] = [];
  for (const [i, capability] of asArray(raw.capabilities).entries()) {
    const mapped = typeof capability === "string" ? LEGACY_CAPABILITIES[capability] : undefined;
    if (mapped) capabilities.push(mapped);
    else out.errors.push(`${at}.capabilities.${i}: unknown capability`);
  }
  if (raw.supports_vision_input === true) capabilities.push("image_in");
  const sorted = sortCapabilities(capabilities);

  let cacheTimeout = 300;
  if (typeof raw.cache_ttl === "string" && raw.cache_ttl.trim() !== "") {
    const parsed = parseCacheTtl(raw.cache_ttl);
    if (parsed === undefined) out.notes.push(`${at}.cache_ttl: cannot read "${raw.cache_ttl}"; using 300 seconds`);
    cacheTimeout = parsed ?? 300;
  }
  const [estimatorType, estimatorUrl] = convertTokenEstimation(raw.token_estimation, at, out);
  const multimodal = isRecord(raw.multimodal_input) ? convertMultimodal(raw.multimodal_input) : multimodalFromCapabilities(sorted);
  const retryMode = convertRetryMode(raw.retry_mode, at, out);
  if (out.errors.length > before) return undefined;
  return {
    provider_type: providerType,
    model_name: modelName,
    url: joinEndpoint(endpoint ?? "", asString(raw.chat_completions_path) ?? "/chat/completions"),
    api_key_env: asString(raw.api_key_env) ?? "OPENAI_API_KEY",
    capabilities: sorted,
    token_max_context: asNumber(raw.context_window_tokens) ?? 128000,
    cache_timeout: cacheTimeout,
    conn_timeout: Math.max(1, Math.ceil(asNumber(raw.timeout_seconds) ?? 30)),
    retry_mode: retryMode,
    ...(raw.reasoning !== undefined && raw.reasoning !== null ? { reasoning: raw.reasoning } : {}),
    token_estimator_type: estimatorType,
    ...(estimatorUrl ? { token_estimator_url: estimatorUrl } : {}),
    ...(multimodal ? { multimodal_input: multimodal } : {}),
  };
}

function convertMultimodal(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kind of ["image", "pdf", "audio"] as const) {
    const media = input[kind];
    if (!isRecord(media)) continue;
    out[kind] = {
      transport: media.transport,
      supported_media_types: asArray(media.supported_media_types),
      ...(media.max_width !== undefined ? { max_width: media.max_width } : {}),
      ...(media.max_height !== undefined ? { max_height: media.max_height } : {}),
    };
  }
  return out;
}

/** `model_catalog.web_search.<name>` → an `open_router_responses` model with web_search. */
export function convertWebSearchEntry(raw: unknown): Record<string, unknown> {
  const entry = asRecord(raw);
  const capabilities = entry.supports_vision_input === true ? ["image_in", "web_search"] : ["web_search"];
  const multimodal = multimodalFromCapabilities(capabilities);
  return {
    provider_type: "open_router_responses",
    model_name: asString(entry.model) ?? "",
    url: joinEndpoint(asString(entry.base_url) ?? "", asString(entry.chat_completions_path) ?? "/chat/completions"),
    api_key_env: asString(entry.api_key_env) ?? "OPENAI_API_KEY",
    capabilities,
    token_max_context: 128000,
    cache_timeout: 300,
    conn_timeout: Math.max(1, Math.ceil(asNumber(entry.timeout_seconds) ?? 30)),
    retry_mode: "once",
    token_estimator_type: "local",
    ...(multimodal ? { multimodal_input: multimodal } : {}),
  };
}
