import { z } from "zod";
import type { TelegramUpdate } from "./telegram-message.js";

// What admission reads of an update stored to be handled later (pending-commands.ts): the fields it cannot do
// without; the rest of Telegram's objects is kept as it came (admission reads optional fields defensively).
const message = z.looseObject({
  message_id: z.number().int(),
  date: z.number(),
  chat: z.looseObject({ id: z.number().int(), type: z.string() }),
  from: z.looseObject({ id: z.number().int(), is_bot: z.boolean(), first_name: z.string() }).optional(),
});
const update = z.looseObject({
  update_id: z.number().int(),
  message: message.optional(),
  edited_message: message.optional(),
  callback_query: z.looseObject({ id: z.string(), from: z.looseObject({ id: z.number().int(), is_bot: z.boolean(), first_name: z.string() }), data: z.string().optional(), message: message.optional() }).optional(),
});

/** A Telegram update as stored in a pending record. */
export const StoredUpdateSchema = z.custom<TelegramUpdate>((value) => update.safeParse(value).success, { message: "not a Telegram update" });
