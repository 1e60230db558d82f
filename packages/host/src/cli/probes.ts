/**
 * Live checks shared by `init` and `doctor`: is the bot token accepted (getMe), is a model key
 * accepted (an authenticated request that a wrong key fails). Messages never contain a secret.
 */
import type { ModelConfig } from "@starling/protocol";

export interface ProbeResult {
  ok: boolean;
  /** What was checked and what came back. */
  detail: string;
  /** The answer was an authentication failure (the secret is wrong, the endpoint is fine). */
  rejected?: boolean;
}

/** "connect ECONNREFUSED 127.0.0.1:9" rather than fetch's bare "fetch failed". */
export function fetchFailure(err: unknown): string {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  if (error.name === "TimeoutError") return "no answer within 10 s";
  const cause = error.cause;
  if (cause?.message) return cause.code && !cause.message.includes(cause.code) ? `${cause.code}: ${cause.message}` : cause.message;
  return error.message;
}

export async function probeTelegram(token: string, apiBase: string, variable: string): Promise<ProbeResult & { username?: string }> {
  const base = apiBase.replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(`${base}/bot${token}/getMe`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { ok: false, detail: `getMe at ${base} failed: ${fetchFailure(err)}` };
  }
  const body = (await response.json().catch(() => ({}))) as { ok?: boolean; result?: { username?: string }; description?: string };
  if (response.ok && body.ok && body.result?.username) {
    return { ok: true, detail: `getMe: the token in ${variable} works (@${body.result.username})`, username: body.result.username };
  }
  const rejected = response.status === 401 || response.status === 404;
  return {
    ok: false,
    rejected,
    detail: rejected
      ? `getMe at ${base}: Telegram rejected the token in ${variable} (HTTP ${response.status}${body.description ? ` ${body.description}` : ""})`
      : `getMe at ${base} answered HTTP ${response.status}${body.description ? ` ${body.description}` : ""}`,
  };
}

/** Auth headers and a cheap request per provider type; an empty chat is refused after the key is checked. */
function authenticatedRequest(model: ModelConfig, key: string | undefined): { method: string; headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { "content-type": "application/json" };
  switch (model.provider_type) {
    case "claude_code":
      if (key) headers["x-api-key"] = key;
      headers["anthropic-version"] = "2023-06-01";
      return { method: "POST", headers, body: JSON.stringify({ model: model.model_name, max_tokens: 1, messages: [] }) };
    case "brave_search":
      if (key) headers["x-subscription-token"] = key;
      return { method: "GET", headers };
    default:
      if (key) headers.authorization = `Bearer ${key}`;
      return { method: "POST", headers, body: JSON.stringify({ model: model.model_name, max_tokens: 1, messages: [] }) };
  }
}

/**
 * Sends one authenticated request that costs nothing (an empty conversation, refused by the model
 * server after it checked the key). 401/403 mean the key is wrong; any other answer means the key
 * was accepted (servers check the key before the body).
 */
export async function probeModel(alias: string, model: ModelConfig, key: string | undefined): Promise<ProbeResult> {
  const variable = model.api_key_env ?? "(no api_key_env)";
  const request = authenticatedRequest(model, key);
  const url = model.provider_type === "brave_search" ? `${model.url}${model.url.includes("?") ? "&" : "?"}q=starling&count=1` : model.url;
  let response: Response;
  try {
    response = await fetch(url, { ...request, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { ok: false, detail: `${request.method} ${model.url} failed: ${fetchFailure(err)}` };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 401 || response.status === 403) {
    return {
      ok: false,
      rejected: true,
      detail: `${model.url} rejected the key in ${variable} (HTTP ${response.status})`,
    };
  }
  if (response.status === 404) {
    return { ok: false, detail: `${model.url} answered HTTP 404 (wrong url? it must be the full endpoint, e.g. …/v1/chat/completions)` };
  }
  return { ok: true, detail: `${model.url} accepted the key in ${variable} (authenticated request answered HTTP ${response.status})` };
}
