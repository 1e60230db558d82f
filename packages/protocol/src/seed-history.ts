import { z } from "zod";
import { lazySchema } from "./lazy-schema.js";
import { ContentItem } from "./values.js";

/** The most messages `initialize.seedHistory` may carry. */
export const SEED_HISTORY_MAX_MESSAGES = 20_000;
/** The most text (and file URIs) all of them may hold together, in characters. */
export const SEED_HISTORY_MAX_CHARS = 16 * 1024 * 1024;

/**
 * One message of history a session starts with (`initialize.seedHistory`): an earlier agent's conversation
 * carried over (the Stellaclaw import). Only text and files, so no provider ever sees a tool call without
 * its result; the worker gives each its index. Built on first use: nearly every session has none.
 */
export const seedMessage = lazySchema(() =>
  z.object({
    role: z.enum(["user", "assistant"]),
    userName: z.string().optional(),
    /** ISO 8601 time the message was written (the import's time when the old one did not say). */
    time: z.string().min(1),
    content: z.array(ContentItem).min(1, "a message needs at least one content item"),
  }),
);
export type SeedMessage = z.infer<ReturnType<typeof seedMessage>>;

/** The characters of a seed message's text and file references (what SEED_HISTORY_MAX_CHARS counts). */
export function seedMessageChars(message: SeedMessage): number {
  let chars = 0;
  for (const item of message.content) chars += item.type === "text" ? item.text.length : item.uri.length + (item.name?.length ?? 0);
  return chars;
}

export const seedHistory = lazySchema(() =>
  z
    .array(seedMessage())
    .min(1)
    .max(SEED_HISTORY_MAX_MESSAGES)
    .refine((messages) => messages.reduce((sum, m) => sum + seedMessageChars(m), 0) <= SEED_HISTORY_MAX_CHARS, `the messages hold more than ${SEED_HISTORY_MAX_CHARS} characters`),
);
