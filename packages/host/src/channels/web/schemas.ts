import { z } from "zod";
import { HttpError } from "./http-error.js";

/** Largest message text (characters); the JSON body limit is WEB_BODY_LIMIT_BYTES. */
export const MAX_TEXT_CHARS = 200_000;
export const WEB_BODY_LIMIT_BYTES = 1024 * 1024;
export const UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;

const title = z.string().trim().min(1).max(200);
const model = z.string().min(1).max(100);

export const CreateConversation = z.strictObject({ title: title.optional(), model: model.optional() });
export const PatchConversation = z.strictObject({ title: title.optional(), model: model.optional() });
export const PostMessage = z.strictObject({
  text: z.string().max(MAX_TEXT_CHARS),
  message_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, { error: "use 1-100 letters, digits, '.', '_', ':' or '-'" })
    .optional(),
  attachments: z.array(z.string().min(1).max(1000)).max(20).optional(),
});
export const Callback = z.strictObject({ data: z.string().min(1).max(200) });
export const Paging = z.object({
  after: z.coerce.number().int().nonnegative().optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const PathQuery = z.object({ path: z.string().max(1000).default(".") });

const Part = z.object({ type: z.string(), text: z.string().optional() }).loose();
export const ChatCompletionRequest = z
  .object({
    model: z.string().min(1),
    messages: z
      .array(
        z
          .object({
            role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
            content: z.union([z.string(), z.array(Part), z.null()]).optional(),
          })
          .loose(),
      )
      .min(1),
    stream: z.boolean().optional(),
  })
  .loose();

/** True for text with nothing visible: whitespace and zero-width characters (U+200B–U+200D, U+2060, U+FEFF) only. */
export function isBlank(text: string): boolean {
  return /^[\s\u200B-\u200D\u2060\uFEFF]*$/u.test(text);
}

/** Parses `value` or throws a 400 naming the first bad field (`text: expected string`). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = "body"): z.output<S> {
  // A body fastify did not parse as JSON (text/plain, a form, raw bytes) arrives as a string or Buffer.
  if (where === "body" && (typeof value === "string" || Buffer.isBuffer(value))) {
    throw new HttpError(415, "unsupported_media_type", "body: send JSON with Content-Type: application/json");
  }
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length ? issue.path.join(".") : where;
  throw new HttpError(400, "invalid_request", `${field}: ${issue.message}`, field);
}
