import type { ReasoningItem, TranscriptItem, Usage } from "@starling/protocol";
import { extractErrorMessage, kindForStatus } from "../http.js";
import { ProviderError, replyCutBy } from "../types.js";
import type { ModelResponse } from "../types.js";
import { responsesWire, type WireItem, type WireUsage } from "./wire.js";
import { parseWire, usageFrom } from "../wire-parse.js";

interface PartialItem {
  type: string;
  id: string;
  callId: string;
  name: string;
  text: string;
  arguments: string;
  /** A reasoning item's opaque `encrypted_content` and its summary texts. */
  encrypted: string;
  summary: string[];
  /** An image_generation_call's image, as a URL (base64 `result` made a data URL of its `output_format`). */
  image: string;
}

export interface AssemblerOptions {
  /**
   * Keep reasoning items that carry `encrypted_content`, as `reasoning` items with these fields (`{}` for
   * codex_subscription; `format` and `model` for open_router_responses), handed back with the next request.
   */
  keepReasoning?: Pick<ReasoningItem, "format" | "model">;
}

/**
 * Builds one ModelResponse from Responses API output: streamed events (`addEvent`) or one JSON
 * response (`addResponse`). `response.output_text.delta` goes to `onDelta`; function call
 * arguments are assembled from `response.function_call_arguments.delta` per output index. When
 * `response.completed` carries a non-empty `output`, that is authoritative; otherwise the
 * streamed items are used. An `image_generation_call`'s image (base64 `result`) becomes a file item
 * carrying it as a data URL. `response.failed` / `error` events fail with the reported status's
 * kind (default `server`) and message (the upstream provider's, when OpenRouter wraps one in
 * `metadata.raw`); a stream without `response.completed` was cut off (kind `network`). A reply with
 * nothing but reasoning is the empty-reply error, unless it is `incomplete` at the output limit (returned).
 */
export class ResponseAssembler {
  private readonly items = new Map<number, PartialItem>();
  private final: WireItem[] | undefined;
  private usage: WireUsage | undefined;
  private status: string | undefined;
  private done = false;

  constructor(
    private readonly onDelta?: (text: string) => void,
    private readonly options: AssemblerOptions = {},
  ) {}

  /** Adds one streamed event; true once the reply is complete (`response.completed` / `response.incomplete`). */
  addEvent(json: unknown): boolean {
    const event = parseWire(responsesWire().WireEvent, json, "stream event");
    switch (event.type) {
      case "response.output_item.added":
      case "response.output_item.done":
        if (event.item) this.mergeItem(event.output_index ?? this.items.size, event.item);
        break;
      case "response.output_text.delta":
        if (event.delta) {
          this.itemAt(event.output_index, "message").text += event.delta;
          this.onDelta?.(event.delta);
        }
        break;
      case "response.function_call_arguments.delta":
        if (event.delta) this.itemAt(event.output_index, "function_call").arguments += event.delta;
        break;
      case "response.completed":
      case "response.incomplete":
        if (event.response) this.addResponse(event.response, false);
        this.done = true;
        break;
      case "response.failed":
        throw reportedError(event.response?.error ?? undefined);
      case "error":
        // OpenAI puts code and message on the event itself; OpenRouter nests them (with `metadata.raw`) in `error`.
        throw reportedError(event.error ?? event);
    }
    return this.done;
  }

  /** A whole response object (non-streamed body, or the one inside `response.completed`). */
  addResponse(json: unknown, notify = true): void {
    const response = parseWire(responsesWire().WireResponse, json, "response");
    if (response.error) throw reportedError(response.error);
    if (response.usage) this.usage = response.usage;
    this.status = response.incomplete_details?.reason ?? response.status ?? undefined;
    if (response.output && response.output.length > 0) this.final = response.output;
    else if (notify && !response.output) throw new ProviderError("server", "the model sent a response without an output array");
    if (notify) {
      const text = (this.final ?? []).map(messageText).join("");
      if (text) this.onDelta?.(text);
    }
    this.done = true;
  }

  finish(): ModelResponse {
    if (!this.done) throw new ProviderError("network", "the model stream ended before the reply was complete");
    const items = this.final?.map(fromWire) ?? [...this.items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
    const content: TranscriptItem[] = [];
    for (const partial of items) {
      const origin = this.options.keepReasoning;
      if (partial.type === "reasoning" && partial.encrypted && origin) {
        content.push({ type: "reasoning", ...origin, encryptedContent: partial.encrypted, summary: partial.summary });
      }
      if (partial.type === "message" && partial.text) content.push({ type: "text", text: partial.text });
      // As the model sent it: the session saves it into the workspace (model-images.ts) before storing the reply.
      if (partial.type === "image_generation_call" && partial.image) content.push(imageFile(partial.image));
      if (partial.type === "function_call") {
        if (!partial.callId || !partial.name) throw new ProviderError("server", "the model sent a function_call without call_id or name");
        content.push({ type: "tool_call", id: partial.callId, name: partial.name, arguments: partial.arguments.trim() === "" ? "{}" : partial.arguments });
      }
    }
    // Reasoning alone at the output limit (it was spent reasoning) is an answer cut there, not a hiccup to retry.
    if (!content.some((item) => item.type !== "reasoning") && replyCutBy(this.status) !== "output_limit") {
      // A filtered reply comes back filtered when retried; anything else empty is an upstream hiccup.
      const kind = this.status === "content_filter" ? "bad_request" : "server";
      throw new ProviderError(kind, `the model returned an empty reply (status: ${this.status ?? "none"})`);
    }
    return { content, ...(this.usage ? { usage: mapResponsesUsage(this.usage) } : {}), ...(this.status ? { finishReason: this.status } : {}) };
  }

  private mergeItem(index: number, item: WireItem): void {
    const incoming = fromWire(item);
    const existing = this.items.get(index);
    if (!existing) return void this.items.set(index, incoming);
    // `.done` carries the complete item; keep streamed text/arguments when it omits them.
    existing.id ||= incoming.id;
    existing.callId ||= incoming.callId;
    existing.name ||= incoming.name;
    if (incoming.text) existing.text = incoming.text;
    if (incoming.arguments) existing.arguments = incoming.arguments;
    if (incoming.encrypted) existing.encrypted = incoming.encrypted;
    if (incoming.summary.length) existing.summary = incoming.summary;
    if (incoming.image) existing.image = incoming.image;
  }

  private itemAt(index: number | null | undefined, type: string): PartialItem {
    const key = index ?? Math.max(-1, ...this.items.keys());
    let item = this.items.get(key);
    if (!item) {
      item = { type, id: "", callId: "", name: "", text: "", arguments: "", encrypted: "", summary: [], image: "" };
      this.items.set(key, item);
    }
    return item;
  }
}

/** input_tokens (cached included) → inputTokens, output_tokens → outputTokens, cached_tokens → cachedTokens. */
export function mapResponsesUsage(usage: WireUsage): Usage {
    return usageFrom(usage.input_tokens, usage.output_tokens, usage.input_tokens_details?.cached_tokens);
}

function fromWire(item: WireItem): PartialItem {
  const args = item.arguments;
  return {
    type: item.type,
    id: item.id ?? "",
    callId: item.call_id ?? "",
    name: item.name ?? "",
    text: messageText(item),
    arguments: typeof args === "string" ? args : args === undefined || args === null ? "" : JSON.stringify(args),
    encrypted: item.encrypted_content ?? "",
    summary: (item.summary ?? []).flatMap((part) => (part.text ? [part.text] : [])),
    image: item.type === "image_generation_call" ? imageUrl(item.result, item.output_format) : "",
  };
}

/**
 * An image_generation_call's `result` as a URL: base64 (OpenAI) becomes a data URL of its `output_format`
 * (png when not given, OpenAI's default); a URL (OpenRouter allows one) stays as it is.
 */
function imageUrl(result: string | null | undefined, format: string | null | undefined): string {
  if (!result) return "";
  if (/^[a-z][a-z0-9+.-]*:/i.test(result)) return result;
  return `data:image/${(format || "png").toLowerCase()};base64,${result}`;
}

function imageFile(uri: string): TranscriptItem {
  const mediaType = /^data:(image\/[a-z0-9.+-]+);/i.exec(uri)?.[1];
  return { type: "file", uri, ...(mediaType ? { mediaType } : {}) };
}

function messageText(item: WireItem): string {
  if (item.type !== "message") return "";
  return (item.content ?? []).map((part) => part.text ?? part.refusal ?? "").join("");
}

function reportedError(error: unknown): ProviderError {
  if (typeof error === "string") return new ProviderError("server", `the model reported an error: ${error}`);
  const record = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown };
  const status = typeof record.code === "number" && record.code >= 400 && record.code < 600 ? record.code : undefined;
  const kind = status ? kindForStatus(status) : record.code === "rate_limit_exceeded" ? "rate_limited" : "server";
  const message = extractErrorMessage({ error: record }) ?? "unknown error";
  return new ProviderError(kind, `the model reported an error: ${message}`, status ? { status } : {});
}

