import type { TranscriptItem, Usage } from "@starling/protocol";
import { extractErrorMessage, kindForStatus } from "../http.js";
import { ProviderError, replyCutBy, type ModelResponse } from "../types.js";
import { contentText, WireChunk, wireCompletion, type WireImage, type WireToolCall, type WireUsage } from "./wire.js";
import { parseWire, usageFrom } from "../wire-parse.js";

interface PartialCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

/**
 * Builds one ModelResponse from chat-completions output: streamed chunks (`addChunk`, then
 * `markDone` on `data: [DONE]`) or one plain JSON completion (`addCompletion`). Text deltas go to
 * `onDelta` as they arrive. Tool calls are assembled from deltas by `index` (falling back to `id`
 * for servers that omit or reuse indexes), their argument fragments concatenated in order.
 *
 * Images the model returns (`message.images` / `delta.images`, OpenRouter image output) become file items
 * carrying their URL as sent.
 *
 * `finish()` rejects a reply that has neither text, images nor tool calls: kind `bad_request` when the
 * upstream filtered it (`finish_reason: content_filter`, retrying would not help), otherwise
 * kind `server` (retryable: an empty completion is an upstream hiccup), except at the output limit
 * (`length`: a reasoning model spent it reasoning), which is returned empty with that finish reason. A stream that ends with
 * neither `[DONE]` nor a finish reason was cut off: kind `network` (retryable).
 */
export class CompletionAssembler {
  private text = "";
  private readonly calls: PartialCall[] = [];
  private readonly callsByIndex = new Map<number, PartialCall>();
  private readonly images: string[] = [];
  private finishReason: string | undefined;
  private usage: Usage | undefined;
  private done = false;

  constructor(private readonly onDelta?: (text: string) => void) {}

  /** One parsed `data:` payload of the stream. */
  addChunk(json: unknown): void {
    const chunk = plainDelta(json) ?? parseWire(WireChunk, json, "stream chunk");
    if (chunk.error !== undefined && chunk.error !== null) throw upstreamError(chunk);
    if (chunk.usage) this.usage = mapUsage(chunk.usage);
    for (const choice of (chunk.choices ?? []).slice(0, 1)) {
      const text = contentText(choice.delta?.content);
      if (text) {
        this.text += text;
        this.onDelta?.(text);
      }
      for (const delta of choice.delta?.tool_calls ?? []) this.addToolCallDelta(delta);
      this.addImages(choice.delta?.images);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  /** The stream said `data: [DONE]`. */
  markDone(): void {
    this.done = true;
  }

  /** A whole non-streaming completion (`choices[0].message`). */
  addCompletion(json: unknown): void {
    const completion = parseWire(wireCompletion(), json, "completion");
    if (completion.error !== undefined && completion.error !== null) throw upstreamError(completion);
    if (completion.usage) this.usage = mapUsage(completion.usage);
    const choice = completion.choices?.[0];
    if (!choice) throw new ProviderError("server", "the model answered with no choices");
    this.text += contentText(choice.message?.content);
    if (this.text) this.onDelta?.(this.text);
    for (const call of choice.message?.tool_calls ?? []) this.addToolCallDelta({ ...call, index: null });
    this.addImages(choice.message?.images);
    this.finishReason = choice.finish_reason ?? "stop";
    this.done = true;
  }

  finish(): ModelResponse {
    if (!this.done && this.finishReason === undefined) {
      throw new ProviderError("network", "the model stream ended before the reply was complete");
    }
    const content: TranscriptItem[] = [];
    if (this.text) content.push({ type: "text", text: this.text });
    // As the model sent them (data URLs): the session saves them into the workspace (model-images.ts) before storing the reply.
    for (const uri of this.images) content.push({ type: "file", uri });
    this.calls.forEach((call, i) => {
      if (!call.name) throw new ProviderError("server", `the model sent tool call #${i + 1} without a name`);
      content.push({
        type: "tool_call",
        id: call.id || `call_${i + 1}`,
        name: call.name,
        arguments: call.arguments.trim() === "" ? "{}" : call.arguments,
      });
    });
    // Empty at the output limit (a reasoning model that spent it all reasoning): an answer cut there, not a hiccup to retry.
    if (content.length === 0 && replyCutBy(this.finishReason) !== "output_limit") {
      const reason = this.finishReason ?? "none";
      const kind = reason === "content_filter" ? "bad_request" : "server";
      throw new ProviderError(kind, `the model returned an empty reply (finish_reason: ${reason})`);
    }
    return {
      content,
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.finishReason ? { finishReason: this.finishReason } : {}),
    };
  }

  private addImages(images: readonly WireImage[] | null | undefined): void {
    for (const image of images ?? []) if (image.image_url?.url) this.images.push(image.image_url.url);
  }

  private addToolCallDelta(delta: WireToolCall): void {
    const call = this.targetCall(delta);
    if (delta.id && !call.id) call.id = delta.id;
    if (delta.function?.name) call.name += call.name === delta.function.name ? "" : delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
  }

  private targetCall(delta: WireToolCall): PartialCall {
    const index = delta.index ?? undefined;
    const byIndex = index === undefined ? undefined : this.callsByIndex.get(index);
    // Same index but a different id: a server that numbers every call 0 started a new one.
    if (byIndex && !(delta.id && byIndex.id && delta.id !== byIndex.id)) return byIndex;
    if (index === undefined && !delta.id) {
      const last = this.calls.at(-1);
      if (last && !delta.function?.name) return last;
    }
    const byId = delta.id ? this.calls.find((c) => c.id === delta.id) : undefined;
    if (byId) return byId;
    const call: PartialCall = { id: delta.id ?? undefined, name: "", arguments: "" };
    this.calls.push(call);
    if (index !== undefined) this.callsByIndex.set(index, call);
    return call;
  }
}

/** prompt_tokens → inputTokens (cached included), completion_tokens → outputTokens, cached_tokens → cachedTokens. */
export function mapUsage(usage: WireUsage): Usage {
    return usageFrom(usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details?.cached_tokens);
}

/** An `error` object inside a 2xx body or stream (OpenRouter reports mid-stream failures this way). */
function upstreamError(body: { error?: unknown }): ProviderError {
  const error = body.error;
  const code = typeof error === "object" && error !== null ? (error as Record<string, unknown>)["code"] : undefined;
  const status = typeof code === "number" && code >= 400 && code < 600 ? code : undefined;
  const message = extractErrorMessage(body) ?? "unknown error";
  return new ProviderError(status ? kindForStatus(status) : "server", `the model reported an error: ${message}`, {
    ...(status ? { status } : {}),
  });
}

const absent = (v: unknown): boolean => v === undefined || v === null;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The common chunk of a stream, checked by hand: one choice whose delta has only text (or nothing), no
 * usage, no error. A stream sends hundreds of these per answer, and zod costs ~0.1 ms each; anything
 * else (tool calls, usage, errors, odd shapes) goes through the WireChunk schema. It accepts only what
 * the schema accepts, so the result is the same.
 */
function plainDelta(json: unknown): WireChunk | null {
  if (!isRecord(json) || !absent(json["usage"]) || json["error"] !== undefined || !Array.isArray(json["choices"])) return null;
  for (const choice of json["choices"] as unknown[]) {
    if (!isRecord(choice)) return null;
    const reason = choice["finish_reason"];
    if (!absent(reason) && typeof reason !== "string") return null;
    const delta = choice["delta"];
    if (absent(delta)) continue;
    if (!isRecord(delta) || !absent(delta["tool_calls"]) || !absent(delta["images"])) return null;
    const content = delta["content"];
    if (!absent(content) && typeof content !== "string") return null;
  }
  return json as WireChunk;
}
