import type { ModelConfig } from "@starling/protocol";
import { createHttpChatProvider, type HttpProviderOptions } from "../http-chat-provider.js";
import { eventJson } from "../reply-reader.js";
import type { ModelProvider } from "../types.js";
import { chatRequestBody } from "./request-mapping.js";
import { CompletionAssembler } from "./stream-assembler.js";

export type ChatCompletionsProviderOptions = HttpProviderOptions;

/**
 * `open_router_completion`: the OpenAI chat-completions wire format (OpenRouter, OpenAI, vLLM,
 * llama.cpp, Ollama). `config.url` is the full endpoint. Streams with SSE and falls back to a
 * plain JSON completion when the server answers `application/json`. Timeouts, retries and
 * cancellation as createHttpChatProvider.
 */
export function createChatCompletionsProvider(
  config: ModelConfig,
  env: NodeJS.ProcessEnv,
  providerOptions: ChatCompletionsProviderOptions = {},
): ModelProvider {
  return createHttpChatProvider(
    config,
    env,
    {
      buildBody: chatRequestBody,
      headers: (apiKey) => ({
        accept: "text/event-stream, application/json",
        ...(apiKey !== undefined ? { authorization: `Bearer ${apiKey}` } : {}),
      }),
      reader(onDelta) {
        const assembler = new CompletionAssembler(onDelta);
        return {
          event(event) {
            if (event.data.trim() === "[DONE]") {
              assembler.markDone();
              return true;
            }
            const payload = eventJson(event);
            const isErrorEvent = event.event === "error" && !(typeof payload === "object" && payload !== null && "error" in payload);
            assembler.addChunk(isErrorEvent ? { error: payload } : payload);
            return false;
          },
          json: (value) => assembler.addCompletion(value),
          finish: () => assembler.finish(),
        };
      },
    },
    providerOptions,
  );
}
