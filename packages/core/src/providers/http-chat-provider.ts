import type { ModelConfig } from "@starling/protocol";
import { redactSecret, resolveApiKey } from "./api-key.js";
import type { PostJson } from "./http-post.js";
import type { AskCredentials } from "./codex/credentials.js";
import { DEFAULT_CONN_TIMEOUT_SECS, DEFAULT_STREAM_IDLE_TIMEOUT_MS, HttpExchange, statusError } from "./http.js";
import { readReply, type ReplySink } from "./reply-reader.js";
import { withRetries } from "./retry.js";
import { sendableRequest } from "./tool-text.js";
import type { CompleteOptions, ModelProvider, ModelRequest, ModelResponse } from "./types.js";

export interface HttpProviderOptions {
  /** Longest silence while the reply streams (default: the model's `stream_idle_timeout`, else DEFAULT_STREAM_IDLE_TIMEOUT_MS). */
  streamIdleTimeoutMs?: number;
  /** Random source for `random_interval` retry waits (tests). */
  random?: () => number;
  /** How an http(s) request goes out (default `postJson`: node:http with a keep-alive agent). */
  post?: PostJson;
  /** The Starling session id (codex_subscription derives its stable prompt-cache key from it). */
  sessionId?: string;
  /** Fresher sign-in material from the host (`model/credentials`; codex_subscription). Absent: no host. */
  askCredentials?: AskCredentials;
}

/** One chat wire format spoken over HTTP POST (chat completions, Responses, Anthropic Messages). */
export interface ChatWireFormat<Body> {
  buildBody(config: ModelConfig, request: ModelRequest): Promise<Body>;
  /** Auth and format headers for one request (`apiKey` is undefined when no `api_key_env` is set). */
  headers(apiKey: string | undefined): Record<string, string>;
  /** A fresh reader for one attempt's reply; `finish` returns the assembled answer. */
  reader(onDelta: ((text: string) => void) | undefined): ReplySink & { finish(): ModelResponse };
}

export function limitsOf(config: ModelConfig, options: HttpProviderOptions): { connTimeoutMs: number; idleTimeoutMs: number } {
  return {
    connTimeoutMs: (config.conn_timeout ?? DEFAULT_CONN_TIMEOUT_SECS) * 1000,
    idleTimeoutMs: options.streamIdleTimeoutMs ?? (config.stream_idle_timeout !== undefined ? config.stream_idle_timeout * 1000 : DEFAULT_STREAM_IDLE_TIMEOUT_MS),
  };
}

/**
 * A ModelProvider for `config.url` speaking `wire`: the key is read at call time; `conn_timeout`
 * (default 120 s) bounds the wait for response headers, after which the body may go silent for at
 * most `stream_idle_timeout` (default 300 s); retries follow `retry_mode` (withRetries); the caller's signal
 * cancels at once. Text streamed to `onDelta` by an attempt that later failed is void once
 * `onRetry` is called. A key echoed in an error message is redacted. A request without tools whose history holds
 * tool calls goes to a model served by Anthropic with them as text (sendableRequest).
 */
export function createHttpChatProvider<Body>(
  config: ModelConfig,
  env: NodeJS.ProcessEnv,
  wire: ChatWireFormat<Body>,
  providerOptions: HttpProviderOptions = {},
): ModelProvider {
  const limits = limitsOf(config, providerOptions);

  async function attempt(body: Body, apiKey: string | undefined, options: CompleteOptions): Promise<ModelResponse> {
    const exchange = new HttpExchange(options.signal, limits, providerOptions.post);
    try {
      const response = await exchange.post(config.url, wire.headers(apiKey), body);
      if (!response.ok) {
        const errorBody = await exchange.text(response).catch(() => "");
        throw statusError(response.status, response.headers, errorBody, config.url);
      }
      const reader = wire.reader(options.onDelta);
      await readReply(exchange, response, reader);
      return reader.finish();
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
        const body = await wire.buildBody(config, sendableRequest(config, request));
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
