import path from "node:path";
import { seedHistory, type SeedMessage } from "@starling/protocol";
import { conversationDir } from "../conversations/workspace.js";
import { convertStellaclawHistory, leadWithUser, newestThatFit } from "./stellaclaw-history.js";
import { foregroundHistoryFolder, readStellaclawSession } from "./stellaclaw-session-file.js";
import type { StellaclawImportFile } from "./stellaclaw-file.js";

type Conversation = StellaclawImportFile["conversations"][number];

/** A conversation's foreground history in the Stellaclaw workdir, read before the import's batch is built. */
export type LegacyHistory =
  | { kind: "none" }
  | { kind: "read"; folder: string; file: string; messages: SeedMessage[]; total: number }
  | { kind: "damaged"; folder: string; file: string; problem: string };

/** Reads and converts the history of the conversation's foreground session, if Stellaclaw left one. */
export async function readLegacyHistory(workdir: string, c: Conversation): Promise<LegacyHistory> {
  const folder = foregroundHistoryFolder(c.foregroundSessionId ?? `${c.conversationId}.foreground`);
  if (!c.legacySessionHistories.includes(folder)) return { kind: "none" };
  const workspace = conversationDir(workdir, c.conversationId);
  // Named as the user finds it: relative to the workdir.
  const file = path.join("conversations", c.conversationId, folder, "session.json");
  try {
    const session = await readStellaclawSession(path.join(workspace, folder, "session.json"));
    const messages = await convertStellaclawHistory(session.messages, workspace, c.conversationId, session.writtenAt.toISOString());
    return { kind: "read", folder, file, messages, total: session.messages.length };
  } catch (err) {
    return { kind: "damaged", folder, file, problem: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * What of `history` the new foreground session starts with (the newest messages that fit the model's context,
 * `contextTokens`), and the import's note on it. Other sessions' histories stay in the workspace, unread.
 */
export function seedOf(c: Conversation, history: LegacyHistory, contextTokens: number | undefined): { seed: SeedMessage[] | null; note: string | null } {
  const others = c.legacySessionHistories.filter((folder) => history.kind === "none" || folder !== history.folder);
  const rest = others.length ? `; the other session histories (${others.join(", ")}) stay in the workspace` : "";
  const fresh = "the model starts a fresh history";
  switch (history.kind) {
    case "none":
      return { seed: null, note: others.length ? `${c.conversationId}: Stellaclaw's session history (${others.join(", ")}) stays in the workspace; ${fresh}` : null };
    case "damaged":
      return { seed: null, note: `${c.conversationId}: Stellaclaw's history ${history.file} ${history.problem}; ${fresh}${rest}` };
    case "read": {
      const seed = history.messages.length ? leadWithUser(newestThatFit(history.messages, contextTokens)) : [];
      const checked = seedHistory().safeParse(seed);
      if (!checked.success) {
        const why = seed.length ? checked.error.issues[0]?.message ?? "refused" : "no message with text or files";
        return { seed: null, note: `${c.conversationId}: Stellaclaw's history ${history.file} not carried (${why}); ${fresh}${rest}` };
      }
      return { seed, note: `${c.conversationId}: carried ${seed.length} of ${history.total} messages of Stellaclaw's history (${history.file})${rest}` };
    }
  }
}
