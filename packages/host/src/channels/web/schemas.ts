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

/**
 * A JSON request body, or a 415 when there is none to read as JSON: a body of another Content-Type or
 * none (fastify hands those over as a Buffer), or no body at all where the route needs fields (a POST
 * whose fields are all optional may come without one). Then the fields, as `parse`.
 */
export function parseBody<S extends z.ZodType>(schema: S, req: { body: unknown; headers: { "content-type"?: string } }): z.output<S> {
  const type = req.headers["content-type"];
  const unreadable = typeof req.body === "string" || Buffer.isBuffer(req.body);
  if (unreadable || (req.body === undefined && !schema.safeParse({}).success)) {
    const got = type ? `Content-Type "${type}" is not JSON` : req.body === undefined ? "no body and no Content-Type" : "no Content-Type";
    throw new HttpError(415, "unsupported_media_type", `body: ${got}; send JSON with Content-Type: application/json`);
  }
  return parse(schema, req.body);
}

/** Parses `value` (a JSON body or the query) or throws a 400 naming the first bad field (`text: expected string`). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = "body"): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length ? issue.path.join(".") : where;
  throw new HttpError(400, "invalid_request", `${field}: ${issue.message}`, field);
}
