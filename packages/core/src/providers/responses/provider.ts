import type { ModelConfig } from "@starling/protocol";
import { createHttpChatProvider, type HttpProviderOptions } from "../http-chat-provider.js";
import { eventJson } from "../reply-reader.js";
import type { ModelProvider } from "../types.js";
import { reasons, responsesRequestBody } from "./request-mapping.js";
import { ResponseAssembler } from "./response-assembler.js";

/**
 * `open_router_responses`: the OpenAI Responses API (`config.url` is the full `/responses`
 * endpoint; OpenAI, OpenRouter), bearer auth, streamed with SSE (a plain JSON response is
 * accepted too). Timeouts, retries and cancellation as createHttpChatProvider. With `reasoning`
 * configured, the encrypted reasoning the model returns is kept (stamped with the model) and handed
 * back to it (request-mapping.ts).
 */
export function createResponsesProvider(config: ModelConfig, env: NodeJS.ProcessEnv, options: HttpProviderOptions = {}): ModelProvider {
  const keepReasoning = reasons(config) ? { format: "open_router_responses" as const, model: config.model_name } : undefined;
  return createHttpChatProvider(
    config,
    env,
    {
      buildBody: responsesRequestBody,
      headers: (apiKey) => ({
        accept: "text/event-stream, application/json",
        ...(apiKey !== undefined ? { authorization: `Bearer ${apiKey}` } : {}),
      }),
      reader(onDelta) {
        const assembler = new ResponseAssembler(onDelta, keepReasoning ? { keepReasoning } : {});
        return {
          event(event) {
            if (event.data.trim() === "[DONE]") return true;
            // The terminal event ends the reply: anything after it is not part of the answer.
            return assembler.addEvent(eventJson(event));
          },
          json: (value) => assembler.addResponse(value),
          finish: () => assembler.finish(),
        };
      },
    },
    options,
  );
}
