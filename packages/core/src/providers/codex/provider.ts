import type { ModelConfig } from "@starling/protocol";
import { redactSecret } from "../api-key.js";
import { limitsOf, type HttpProviderOptions } from "../http-chat-provider.js";
import { withRetries } from "../retry.js";
import { ProviderError, type CompleteOptions, type ModelProvider, type ModelRequest, type ModelResponse } from "../types.js";
import { CodexCredentials, type CodexAuth } from "./credentials.js";
import { codexExchange, websocketUrl } from "./exchange.js";
import { codexIds, codexRequestFrame, type CodexIds } from "./request.js";

/**
 * `codex_subscription`: a ChatGPT subscription's Responses API over a WebSocket (reference §1.5; `url`
 * e.g. `https://chatgpt.com/backend-api/codex/responses`). One socket per attempt; `conn_timeout` bounds
 * the handshake, `stream_idle_timeout` the silence between events; retries follow `retry_mode`; the
 * caller's signal closes the socket at once. A token that expires within a minute, or one the server
 * refuses (401, at the handshake or in the stream), is renewed through the host (`model/credentials`)
 * and the request sent once more.
 */
export function createCodexProvider(config: ModelConfig, env: NodeJS.ProcessEnv, options: HttpProviderOptions = {}): ModelProvider {
  const limits = limitsOf(config, options);
  const credentials = new CodexCredentials(config, env, options.askCredentials);
  const ids = codexIds(env, options.sessionId);
  const url = websocketUrl(config.url);

  const attempt = (frame: string, auth: CodexAuth, call: CompleteOptions): Promise<ModelResponse> =>
    codexExchange({
      url,
      headers: codexHeaders(auth, ids),
      frame,
      connTimeoutMs: limits.connTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      signal: call.signal,
      onDelta: call.onDelta,
    });

  return {
    config,
    async complete(request: ModelRequest, call: CompleteOptions): Promise<ModelResponse> {
      try {
        const frame = await codexRequestFrame(config, request, ids, env);
        return await withRetries(
          async () => {
            const auth = await credentials.fresh(call.signal);
            try {
              return await attempt(frame, auth, call);
            } catch (error) {
              if (!(error instanceof ProviderError && error.status === 401)) throw error;
              return await attempt(frame, await credentials.rejected(auth, call.signal), call);
            }
          },
          { signal: call.signal, retryMode: config.retry_mode, onRetry: call.onRetry, ...(options.random ? { random: options.random } : {}) },
        );
      } catch (error) {
        throw credentials.secrets.reduce<unknown>((e, secret) => redactSecret(e, secret), error);
      }
    },
  };
}

/** The handshake headers (reference §1.5). */
export function codexHeaders(auth: CodexAuth, ids: CodexIds): Record<string, string> {
  return {
    authorization: `Bearer ${auth.accessToken}`,
    "chatgpt-account-id": auth.accountId,
    ...(auth.fedramp ? { "x-openai-fedramp": "true" } : {}),
    "openai-beta": "responses_websockets=2026-02-06",
    "user-agent": "codex-cli",
    "x-client-request-id": ids.sessionId,
    session_id: ids.sessionId,
    "x-codex-window-id": ids.windowId,
  };
}

