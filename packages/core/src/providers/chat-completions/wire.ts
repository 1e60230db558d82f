import { z } from "zod";
import { lazySchema } from "@starling/protocol";

// Response shapes of the OpenAI chat-completions API, read loosely: servers (OpenRouter, OpenAI,
// vLLM, llama.cpp, Ollama) differ in which fields they send and use null for absent ones.

const WireFunction = z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() });

export const WireToolCall = z.looseObject({
  index: z.number().int().nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: WireFunction.nullish(),
});
export type WireToolCall = z.infer<typeof WireToolCall>;

export const WireUsage = z.looseObject({
  prompt_tokens: z.number().nullish(),
  completion_tokens: z.number().nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
});
export type WireUsage = z.infer<typeof WireUsage>;

/** `content` is normally a string; a few servers answer with an array of `{type:"text", text}` parts. */
const WireContent = z.union([z.string(), z.array(z.looseObject({ text: z.string().nullish() }))]).nullish();

/** An image the model returned (OpenRouter image output): `{type: "image_url", image_url: {url}}`, the URL normally a data URL. */
export const WireImage = z.looseObject({ type: z.string().nullish(), image_url: z.looseObject({ url: z.string().nullish() }).nullish() });
export type WireImage = z.infer<typeof WireImage>;

const WireMessage = z
  .looseObject({ content: WireContent, tool_calls: z.array(WireToolCall).nullish(), images: z.array(WireImage).nullish() })
  .nullish();

/** A completion body whose choices carry the message under `key` (`delta` when streamed, `message` when not). */
function wireBody<K extends "delta" | "message">(key: K) {
  const choice = z.looseObject({
    ...({ [key]: WireMessage } as Record<K, typeof WireMessage>),
    finish_reason: z.string().nullish(),
  });
  return z.looseObject({ choices: z.array(choice).nullish(), usage: WireUsage.nullish(), error: z.unknown().optional() });
}

export const WireChunk = wireBody("delta");
export type WireChunk = z.infer<typeof WireChunk>;

/** A non-streamed completion (few servers answer so): built on first use, unlike the chunk every first turn reads. */
export const wireCompletion = lazySchema(() => wireBody("message"));
export type WireCompletion = z.infer<ReturnType<typeof wireCompletion>>;

export function contentText(content: z.infer<typeof WireContent>): string {
  if (typeof content === "string") return content;
  if (!content) return "";
  return content.map((part) => part.text ?? "").join("");
}
