// The message of a provider's JSON error body, including the upstream provider's own refusal that
// OpenRouter wraps: `{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"<the
// upstream body>","provider_name":"Anthropic"}}}`. Without it the user and the model see only
// "Provider returned error" and cannot tell what to change (an image over 5 MB, a prompt too long).

/** How much of an error body (or the upstream provider's message) goes into an error message. */
const ERROR_BODY_CHARS = 300;

/** `error.message` (or `error` / `message` strings) of an OpenAI-style error body; OpenRouter's `metadata.raw` when present. */
export function extractErrorMessage(body: unknown): string | undefined {
  const value = typeof body === "string" ? parseJson(body) : body;
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const error = record["error"];
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const upstream = upstreamMessage(error as Record<string, unknown>);
    if (upstream !== undefined) return upstream;
    const message = (error as Record<string, unknown>)["message"];
    if (typeof message === "string") return message;
  }
  return typeof record["message"] === "string" ? record["message"] : undefined;
}

/**
 * "Anthropic (through OpenRouter): <Anthropic's message>" from `error.metadata.raw` (a JSON string in
 * Anthropic's or OpenAI's error shape, an object, or plain text); undefined when there is no raw body.
 */
function upstreamMessage(error: Record<string, unknown>): string | undefined {
  const metadata = error["metadata"];
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const { raw, provider_name: name } = metadata as Record<string, unknown>;
  const text = typeof raw === "string" ? raw : typeof raw === "object" && raw !== null ? JSON.stringify(raw) : "";
  const detail = shorten(extractErrorMessage(raw) ?? text);
  if (!detail) return undefined;
  const provider = typeof name === "string" && name.trim() ? name.trim() : "the upstream provider";
  return `${provider} (through OpenRouter): ${detail}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `text` on one line, at most ERROR_BODY_CHARS long. */
export function shorten(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > ERROR_BODY_CHARS ? `${flat.slice(0, ERROR_BODY_CHARS)}…` : flat;
}
