import type { ModelConfig } from "@starling/protocol";
import { createHttpChatProvider, type HttpProviderOptions } from "../http-chat-provider.js";
import { eventJson } from "../reply-reader.js";
import type { ModelProvider } from "../types.js";
import { responsesRequestBody } from "./request-mapping.js";
import { ResponseAssembler } from "./response-assembler.js";

/**
 * `open_router_responses`: the OpenAI Responses API (`config.url` is the full `/responses`
 * endpoint; OpenAI, OpenRouter), bearer auth, streamed with SSE (a plain JSON response is
 * accepted too). Timeouts, retries and cancellation as createHttpChatProvider.
 */
export function createResponsesProvider(config: ModelConfig, env: NodeJS.ProcessEnv, options: HttpProviderOptions = {}): ModelProvider {
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
        const assembler = new ResponseAssembler(onDelta);
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
