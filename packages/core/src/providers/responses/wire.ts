import { z } from "zod";

// Response shapes of the OpenAI Responses API, read loosely (OpenAI, OpenRouter and compatible servers).

export const WireUsage = z.looseObject({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  input_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
});
export type WireUsage = z.infer<typeof WireUsage>;

const WirePart = z.looseObject({ type: z.string().nullish(), text: z.string().nullish(), refusal: z.string().nullish() });

export const WireItem = z.looseObject({
  type: z.string(),
  id: z.string().nullish(),
  role: z.string().nullish(),
  content: z.array(WirePart).nullish(),
  call_id: z.string().nullish(),
  name: z.string().nullish(),
  arguments: z.unknown().optional(),
});
export type WireItem = z.infer<typeof WireItem>;

const WireError = z.union([z.string(), z.looseObject({ code: z.unknown().optional(), message: z.string().nullish() })]);

export const WireResponse = z.looseObject({
  status: z.string().nullish(),
  output: z.array(WireItem).nullish(),
  usage: WireUsage.nullish(),
  error: WireError.nullish(),
  incomplete_details: z.looseObject({ reason: z.string().nullish() }).nullish(),
});
export type WireResponse = z.infer<typeof WireResponse>;

export const WireEvent = z.looseObject({
  type: z.string(),
  output_index: z.number().int().nullish(),
  item_id: z.string().nullish(),
  item: WireItem.nullish(),
  delta: z.string().nullish(),
  response: WireResponse.nullish(),
  code: z.unknown().optional(),
  message: z.string().nullish(),
});
export type WireEvent = z.infer<typeof WireEvent>;
