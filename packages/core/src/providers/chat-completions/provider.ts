import type { ModelConfig } from "@starling/protocol";
import { resolveApiKey, redactSecret } from "../api-key.js";
import { DEFAULT_CONN_TIMEOUT_SECS, DEFAULT_STREAM_IDLE_TIMEOUT_MS, HttpExchange, statusError } from "../http.js";
import { withRetries } from "../retry.js";
import { ProviderError, type CompleteOptions, type ModelProvider, type ModelRequest, type ModelResponse } from "../types.js";
import { buildChatRequest, type ChatCompletionRequest } from "./request-mapping.js";
import { SseParser, type SseEvent } from "./sse.js";
import { CompletionAssembler } from "./stream-assembler.js";

export interface ChatCompletionsProviderOptions {
  /** Longest silence while the reply streams (default DEFAULT_STREAM_IDLE_TIMEOUT_MS). */
  streamIdleTimeoutMs?: number;
  /** Random source for `random_interval` retry waits (tests). */
  random?: () => number;
}

/**
 * `open_router_completion`: the OpenAI chat-completions wire format (OpenRouter, OpenAI, vLLM,
 * llama.cpp, Ollama). `config.url` is the full endpoint. Streams with SSE and falls back to a
 * plain JSON completion when the server answers `application/json`. `conn_timeout` (default
 * 120 s) bounds the wait for response headers; after that the body may go silent for at most
 * the stream idle timeout. Retries follow `retry_mode` (see withRetries); text streamed to
 * `onDelta` by an attempt that later failed is void once `onRetry` is called.
 */
export function createChatCompletionsProvider(
  config: ModelConfig,
  env: NodeJS.ProcessEnv,
  providerOptions: ChatCompletionsProviderOptions = {},
): ModelProvider {
  const limits = {
    connTimeoutMs: (config.conn_timeout ?? DEFAULT_CONN_TIMEOUT_SECS) * 1000,
    idleTimeoutMs: providerOptions.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  };

  async function attempt(body: ChatCompletionRequest, apiKey: string | undefined, options: CompleteOptions): Promise<ModelResponse> {
    const exchange = new HttpExchange(options.signal, limits);
    try {
      const headers: Record<string, string> = { accept: "text/event-stream, application/json" };
      if (apiKey !== undefined) headers["authorization"] = `Bearer ${apiKey}`;
      const response = await exchange.post(config.url, headers, body);
      if (!response.ok) {
        const errorBody = await exchange.text(response).catch(() => "");
        throw statusError(response.status, response.headers, errorBody, config.url);
      }
      const assembler = new CompletionAssembler(options.onDelta);
      await readReply(exchange, response, assembler);
      return assembler.finish();
    } catch (cause) {
      throw exchange.toError(cause, "model request failed");
    } finally {
      exchange.cancel();
      exchange.dispose();
    }
  }

  return {
    config,
    async complete(request: ModelRequest, options: CompleteOptions): Promise<ModelResponse> {
      const apiKey = resolveApiKey(config, env);
      try {
        const body = await buildChatRequest(config, request);
        return await withRetries(() => attempt(body, apiKey, options), {
          signal: options.signal,
          retryMode: config.retry_mode,
          onRetry: options.onRetry,
          ...(providerOptions.random ? { random: providerOptions.random } : {}),
        });
      } catch (error) {
        throw redactSecret(error, apiKey);
      }
    },
  };
}

/** Feeds the body to the assembler as SSE or, for `application/json` (or a body starting with `{`), as one completion. */
async function readReply(exchange: HttpExchange, response: Response, assembler: CompletionAssembler): Promise<void> {
  const contentType = response.headers.get("content-type")?.toLowerCase() ?? "";
  let mode: "sse" | "json" | undefined = contentType.includes("event-stream")
    ? "sse"
    : contentType.includes("json")
      ? "json"
      : undefined;
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let json = "";
  for await (const chunk of exchange.chunks(response)) {
    const text = decoder.decode(chunk, { stream: true });
    if (mode === undefined && text.trim() !== "") mode = text.trimStart().startsWith("{") ? "json" : "sse";
    if (mode === "json" || mode === undefined) {
      json += text;
      continue;
    }
    for (const event of parser.push(text)) {
      if (handleEvent(event, assembler)) return;
    }
  }
  const rest = decoder.decode();
  if (mode === "sse") {
    for (const event of [...parser.push(rest), ...parser.end()]) {
      if (handleEvent(event, assembler)) return;
    }
    return;
  }
  json += rest;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ProviderError("server", "the model sent a malformed completion (not JSON)");
  }
  assembler.addCompletion(parsed);
}

/** Returns true on `[DONE]`. */
function handleEvent(event: SseEvent, assembler: CompletionAssembler): boolean {
  if (event.data.trim() === "[DONE]") {
    assembler.markDone();
    return true;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(event.data);
  } catch {
    throw new ProviderError("server", "the model sent a malformed stream chunk (not JSON)");
  }
  const isErrorEvent = event.event === "error" && !(typeof payload === "object" && payload !== null && "error" in payload);
  assembler.addChunk(isErrorEvent ? { error: payload } : payload);
  return false;
}
