import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

/**
 * A Stellaclaw session's `session.json` (reference stellaclaw-session-worker.md §2.1 "ChatMessage", §4.1), as
 * much of it as the import reads: `current_messages`, the working (compacted) history the model last saw.
 * Items are adjacently tagged; other types (`reasoning`, any newer one) become `other`, dropped later.
 */
// Optional fields may come as null (serde writes `None` so unless told to skip it).
const FilePayload = z.object({
  uri: z.string(),
  name: z.string().nullish(),
  media_type: z.string().nullish(),
  /** `{"state": "crashed", reason}` when the file could not be used. */
  state: z.unknown().optional(),
});
export type StellaclawFile = z.infer<typeof FilePayload>;

const KNOWN = ["context", "file", "tool_call", "tool_result"];
const Item = z.union([
  z.object({ type: z.literal("context"), payload: z.object({ text: z.string() }) }),
  z.object({ type: z.literal("file"), payload: FilePayload }),
  z.object({
    type: z.literal("tool_call"),
    payload: z.object({ tool_call_id: z.string(), tool_name: z.string(), arguments: z.object({ text: z.string() }) }),
  }),
  z.object({
    type: z.literal("tool_result"),
    payload: z.object({
      tool_call_id: z.string(),
      tool_name: z.string(),
      result: z.object({ context: z.object({ text: z.string() }).nullish(), file: FilePayload.nullish() }),
    }),
  }),
  z
    .object({ type: z.string().refine((t) => !KNOWN.includes(t), "a known item type with a damaged payload"), payload: z.unknown().optional() })
    .transform(() => ({ type: "other" as const })),
]);
export type StellaclawItem = z.infer<typeof Item>;

const Message = z.object({
  role: z.enum(["user", "assistant"]),
  user_name: z.string().nullish(),
  message_time: z.string().nullish(),
  data: z.array(Item),
});
export type StellaclawMessage = z.infer<typeof Message>;

const SessionFile = z.object({ version: z.literal(1), current_messages: z.array(Message) });

/** The Stellaclaw name of a session's folder: characters outside `[A-Za-z0-9_.-]` become `_`; nothing usable is `session`. */
export function stellaclawSessionFolder(sessionId: string): string {
  const name = sessionId.replace(/[^A-Za-z0-9_.-]/g, "_");
  return /^_*$/.test(name) || name === "." || name === ".." ? "session" : name;
}

/** `<workspace>/.log/stellaclaw/<folder>/session.json`'s working history and when it was last written. */
export interface StellaclawSession {
  messages: StellaclawMessage[];
  writtenAt: Date;
}

/** Reads and checks a `session.json`; throws an Error saying what is wrong (without the path: the caller names it). */
export async function readStellaclawSession(file: string): Promise<StellaclawSession> {
  let text: string;
  let writtenAt: Date;
  try {
    [text, writtenAt] = await Promise.all([readFile(file, "utf8"), stat(file).then((s) => s.mtime)]);
  } catch (err) {
    throw new Error(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`is not JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const parsed = SessionFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`).join("; ");
    throw new Error(`is damaged (${problems})`);
  }
  return { messages: parsed.data.current_messages, writtenAt };
}

/** Where a conversation's foreground session kept its history, relative to the workspace (as the import file lists them). */
export function foregroundHistoryFolder(sessionId: string): string {
  return path.posix.join(".log", "stellaclaw", stellaclawSessionFolder(sessionId));
}
