import { lazySchema } from "@starling/protocol";
import { z } from "zod";

/**
 * Response shapes of the OpenAI Responses API, read loosely (OpenAI, OpenRouter and compatible servers).
 * Built on first use: a worker whose model speaks another format never builds them (nor holds them
 * in its start-up snapshot).
 */
export const responsesWire = lazySchema(() => {
  const WireUsage = z.looseObject({
    input_tokens: z.number().nullish(),
    output_tokens: z.number().nullish(),
    input_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
  });

  const WirePart = z.looseObject({ type: z.string().nullish(), text: z.string().nullish(), refusal: z.string().nullish() });

  const WireItem = z.looseObject({
    type: z.string(),
    id: z.string().nullish(),
    role: z.string().nullish(),
    content: z.array(WirePart).nullish(),
    call_id: z.string().nullish(),
    name: z.string().nullish(),
    arguments: z.unknown().optional(),
    // Reasoning items (codex_subscription asks for `reasoning.encrypted_content`).
    encrypted_content: z.string().nullish(),
    summary: z.array(z.looseObject({ text: z.string().nullish() })).nullish(),
    // Image generation calls: the image in base64 (or, through OpenRouter, possibly a URL) and its format.
    result: z.string().nullish(),
    output_format: z.string().nullish(),
  });

  const WireError = z.union([z.string(), z.looseObject({ code: z.unknown().optional(), message: z.string().nullish() })]);

  const WireResponse = z.looseObject({
    status: z.string().nullish(),
    output: z.array(WireItem).nullish(),
    usage: WireUsage.nullish(),
    error: WireError.nullish(),
    incomplete_details: z.looseObject({ reason: z.string().nullish() }).nullish(),
  });

  const WireEvent = z.looseObject({
    type: z.string(),
    output_index: z.number().int().nullish(),
    item_id: z.string().nullish(),
    item: WireItem.nullish(),
    delta: z.string().nullish(),
    response: WireResponse.nullish(),
    code: z.unknown().optional(),
    message: z.string().nullish(),
    error: WireError.nullish(),
  });
  return { WireUsage, WireItem, WireResponse, WireEvent };
});
type Wire = ReturnType<typeof responsesWire>;
export type WireUsage = z.infer<Wire["WireUsage"]>;
export type WireItem = z.infer<Wire["WireItem"]>;
