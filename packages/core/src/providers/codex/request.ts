import { createHash, randomUUID } from "node:crypto";
import type { ModelConfig, ReasoningItem } from "@starling/protocol";
import { jsonBody, MessageJsonCache, ToolJsonCache, type JsonList } from "../json-body.js";
import { mapMessage, responsesTool } from "../responses/request-mapping.js";
import type { ModelRequest } from "../types.js";

/** The ids a Codex request carries: `session_id`/`x-client-request-id`/`prompt_cache_key`, window and installation. */
export interface CodexIds {
  sessionId: string;
  windowId: string;
  installationId: string;
}

/**
 * Stable per session (reference §1.5 REC): the Starling session id hashed (the chat id in it is not
 * OpenAI's business), so the server's prompt cache keeps working across requests and worker restarts.
 * `CODEX_SESSION_ID` / `CODEX_INSTALLATION_ID` in the worker's environment win (embedders).
 */
export function codexIds(env: NodeJS.ProcessEnv, starlingSessionId: string | undefined): CodexIds {
  const sessionId =
    env.CODEX_SESSION_ID?.trim() ||
    (starlingSessionId ? uuidOf(createHash("sha256").update(`starling:${starlingSessionId}`).digest("hex")) : randomUUID());
  return { sessionId, windowId: `${sessionId}:0`, installationId: env.CODEX_INSTALLATION_ID?.trim() || sessionId };
}

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const DROPPED_REASONING_KEYS = new Set(["max_tokens", "exclude", "enabled", "fast", "fast_mode", "service_tier"]);
const TRUTHY = new Set(["1", "true", "yes", "y", "on", "fast", "priority"]);

/** The configured `reasoning` object minus the keys that are not the server's (reference §1.5); undefined when nothing is left. */
export function codexReasoning(reasoning: unknown): Record<string, unknown> | undefined {
  if (!reasoning || typeof reasoning !== "object" || Array.isArray(reasoning)) return undefined;
  const kept = Object.fromEntries(Object.entries(reasoning).filter(([key]) => !DROPPED_REASONING_KEYS.has(key)));
  return Object.keys(kept).length ? kept : undefined;
}

function truthy(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  return typeof value === "string" && TRUTHY.has(value.trim().toLowerCase());
}

/**
 * `service_tier`: `CODEX_FAST_MODE` truthy in the environment, or `reasoning.fast` / `reasoning.fast_mode`
 * truthy → "priority"; else `reasoning.service_tier`: blank/auto/default/standard → none, fast/priority →
 * "priority", anything else passed through.
 */
export function codexServiceTier(reasoning: unknown, env: NodeJS.ProcessEnv): string | undefined {
  if (truthy(env.CODEX_FAST_MODE) || truthy(env.STELLACLAW_CODEX_FAST_MODE)) return "priority";
  const r = reasoning && typeof reasoning === "object" && !Array.isArray(reasoning) ? (reasoning as Record<string, unknown>) : {};
  if (truthy(r.fast) || truthy(r.fast_mode)) return "priority";
  const tier = typeof r.service_tier === "string" ? r.service_tier.trim().toLowerCase() : "";
  if (["", "auto", "default", "standard"].includes(tier)) return undefined;
  if (tier === "fast" || tier === "priority") return "priority";
  return r.service_tier as string;
}

/** The reasoning items a codex model gets back: the Responses items without a `format` (codex_subscription's own). */
export const codexReasoningKept = (item: ReasoningItem): boolean => item.format === undefined;

const toolJson = new ToolJsonCache(responsesTool);
const inputJson = new MessageJsonCache();

/**
 * The `response.create` frame (reference §1.5): the Responses body (request-mapping.ts's `input` and
 * tools, with encrypted reasoning handed back) plus Codex's fields. `user_tell` is not offered: the
 * subscription backend's models answer in the reply instead.
 */
export async function codexRequestFrame(config: ModelConfig, request: ModelRequest, ids: CodexIds, env: NodeJS.ProcessEnv): Promise<string> {
  const reasoning = codexReasoning(config.reasoning);
  const serviceTier = codexServiceTier(config.reasoning, env);
  const tools = request.tools.filter((tool) => tool.name !== "user_tell");
  const head: Record<string, unknown> = {
    type: "response.create",
    model: config.model_name,
    ...(request.system.trim() !== "" ? { instructions: request.system } : {}),
    include: reasoning ? ["reasoning.encrypted_content"] : [],
    ...(reasoning ? { reasoning } : {}),
    store: false,
    stream: true,
    tool_choice: "auto",
    parallel_tool_calls: true,
    ...(serviceTier ? { service_tier: serviceTier } : {}),
    prompt_cache_key: ids.sessionId,
    client_metadata: { "x-codex-installation-id": ids.installationId, "x-codex-window-id": ids.windowId },
  };
  const input = await inputJson.json(request.messages, (m) => mapMessage(m, config, codexReasoningKept));
  const fields: Array<readonly [string, JsonList]> = [["input", input]];
  if (tools.length > 0) fields.push(["tools", toolJson.json(tools)]);
  return jsonBody(head, fields).text;
}
