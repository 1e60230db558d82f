import type { ModelConfig } from "@starling/protocol";
import { createHttpChatProvider, type HttpProviderOptions } from "../http-chat-provider.js";
import { eventJson } from "../reply-reader.js";
import type { ModelProvider } from "../types.js";
import { MessageAssembler } from "./message-assembler.js";
import { ANTHROPIC_VERSION, anthropicRequestBody } from "./request-mapping.js";

/**
 * `claude_code`: the Anthropic Messages API (`config.url` is the full `/v1/messages` endpoint),
 * `x-api-key` auth, streamed with SSE (a plain JSON message is accepted too). Timeouts, retries
 * and cancellation as createHttpChatProvider.
 */
export function createAnthropicProvider(config: ModelConfig, env: NodeJS.ProcessEnv, options: HttpProviderOptions = {}): ModelProvider {
  return createHttpChatProvider(
    config,
    env,
    {
      buildBody: anthropicRequestBody,
      headers: (apiKey) => ({
        accept: "text/event-stream, application/json",
        "anthropic-version": ANTHROPIC_VERSION,
        ...(apiKey !== undefined ? { "x-api-key": apiKey } : {}),
      }),
      reader(onDelta) {
        const assembler = new MessageAssembler(onDelta);
        return {
          // `message_stop` ends the reply: anything after it is not part of the answer.
          event: (event) => assembler.addEvent(eventJson(event)),
          keepAlive: (event) => event.event === "ping",
          json: (value) => assembler.addMessage(value),
          finish: () => assembler.finish(),
        };
      },
    },
    options,
  );
}
