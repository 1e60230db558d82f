import { StringDecoder } from "node:string_decoder";
import type { HttpExchange } from "./http.js";
import type { HttpResponse } from "./http-post.js";
import { SseParser, type SseEvent } from "./chat-completions/sse.js";
import { ProviderError } from "./types.js";

/** Where a model reply goes: streamed events one by one, or one JSON body. */
export interface ReplySink {
  /** One SSE event; return true to stop reading (end of stream marker). */
  event(event: SseEvent): boolean;
  /** True for an event that only keeps the connection alive (Anthropic's `ping`): it does not count as progress. */
  keepAlive?(event: SseEvent): boolean;
  /** The whole body of a non-streamed reply, parsed. */
  json(value: unknown): void;
}

/**
 * Feeds a 2xx body to `sink`: as SSE for `text/event-stream`, as one JSON value for
 * `application/json`; without a usable content type the first non-blank character decides
 * (`{` → JSON). A body that is not JSON fails with kind `server`.
 */
export async function readReply(exchange: HttpExchange, response: HttpResponse, sink: ReplySink): Promise<void> {
  const contentType = response.headers.get("content-type")?.toLowerCase() ?? "";
  let mode: "sse" | "json" | undefined = contentType.includes("event-stream")
    ? "sse"
    : contentType.includes("json")
      ? "json"
      : undefined;
  // StringDecoder instead of TextDecoder: the same UTF-8 decoding across chunk boundaries without
  // TextDecoder's per-call converter set-up (~0.4 ms of CPU per model call in the worker's profile).
  const decoder = new StringDecoder("utf8");
  const parser = new SseParser();
  let json = "";
  // Keep-alive comments (OpenRouter sends `: OPENROUTER PROCESSING`) and pings reset the byte-level idle
  // timer; a stream that sends nothing else for as long would otherwise hold the turn forever.
  const progress = (event: SseEvent) => !sink.keepAlive?.(event);
  let lastEventAt = Date.now();
  for await (const chunk of exchange.chunks(response)) {
    const text = decoder.write(chunk);
    if (mode === undefined && text.trim() !== "") mode = text.trimStart().startsWith("{") ? "json" : "sse";
    if (mode === "json" || mode === undefined) {
      json += text;
      continue;
    }
    const events = parser.push(text);
    if (events.some(progress)) lastEventAt = Date.now();
    else if (Date.now() - lastEventAt > exchange.idleTimeoutMs) {
      throw new ProviderError("timeout", `the model sent only keep-alive comments or pings, no data, for ${exchange.idleTimeoutMs / 1000} s`);
    }
    for (const event of events) {
      if (sink.event(event)) return;
    }
  }
  const rest = decoder.end();
  if (mode === "sse") {
    for (const event of [...parser.push(rest), ...parser.end()]) {
      if (sink.event(event)) return;
    }
    return;
  }
  json += rest;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ProviderError("server", "the model sent a malformed reply (not JSON)");
  }
  sink.json(parsed);
}

/** The JSON `data:` of an SSE event; malformed data fails with kind `server`. */
export function eventJson(event: SseEvent): unknown {
  try {
    return JSON.parse(event.data);
  } catch {
    const flat = event.data.replace(/\s+/g, " ").trim();
    const sample = flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
    throw new ProviderError("server", `the model sent a malformed stream event (not JSON): ${JSON.stringify(sample)}`);
  }
}
