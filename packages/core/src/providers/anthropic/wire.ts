import { lazySchema } from "@starling/protocol";
import { z } from "zod";

/**
 * Response shapes of the Anthropic Messages API, read loosely (unknown fields and block types pass).
 * Built on first use: a worker whose model speaks another format never builds them (nor holds them
 * in its start-up snapshot).
 */
export const anthropicWire = lazySchema(() => {
  const WireUsage = z.looseObject({
    input_tokens: z.number().nullish(),
    output_tokens: z.number().nullish(),
    cache_read_input_tokens: z.number().nullish(),
    cache_creation_input_tokens: z.number().nullish(),
  });

  const WireBlock = z.looseObject({
    type: z.string(),
    text: z.string().nullish(),
    id: z.string().nullish(),
    name: z.string().nullish(),
    input: z.unknown().optional(),
    // thinking blocks: `thinking` text and its `signature`; redacted_thinking blocks: opaque `data`.
    thinking: z.string().nullish(),
    signature: z.string().nullish(),
    data: z.string().nullish(),
  });

  const WireError = z.looseObject({ type: z.string().nullish(), message: z.string().nullish() });

  const WireMessage = z.looseObject({
    type: z.string().nullish(),
    content: z.array(WireBlock).nullish(),
    stop_reason: z.string().nullish(),
    usage: WireUsage.nullish(),
    error: WireError.nullish(),
  });

  /** One streamed event (`message_start`, `content_block_start/delta/stop`, `message_delta`, `message_stop`, `ping`, `error`). */
  const WireEvent = z.looseObject({
    type: z.string(),
    index: z.number().int().nullish(),
    message: WireMessage.nullish(),
    content_block: WireBlock.nullish(),
    delta: z
      .looseObject({
        type: z.string().nullish(),
        text: z.string().nullish(),
        partial_json: z.string().nullish(),
        thinking: z.string().nullish(),
        signature: z.string().nullish(),
        stop_reason: z.string().nullish(),
      })
      .nullish(),
    usage: WireUsage.nullish(),
    error: WireError.nullish(),
  });
  return { WireUsage, WireBlock, WireMessage, WireEvent };
});
type Wire = ReturnType<typeof anthropicWire>;
export type WireUsage = z.infer<Wire["WireUsage"]>;
export type WireBlock = z.infer<Wire["WireBlock"]>;
