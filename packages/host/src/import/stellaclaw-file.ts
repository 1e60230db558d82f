import { z } from "zod";
import { readStellaclawImport, stellaclawImportPath, type StellaclawImport } from "@starling/workdir-migrations";

/**
 * `state/import/stellaclaw.json` as migration 0002 writes it (workdir-migrations/src/stellaclaw/import-file.ts).
 * Checked field by field here, at the host's boundary, so a damaged file is refused with the field named.
 */
const Conversation = z.object({
  conversationId: z.string().min(1),
  channelId: z.string().min(1),
  platformChatId: z.string().min(1),
  mainModel: z.string().optional(),
  modelSelectionPending: z.boolean().optional(),
  sandboxMode: z.string().optional(),
  remote: z.object({ host: z.string(), path: z.string() }).optional(),
  reasoningEffort: z.string().optional(),
  foregroundSessionId: z.string().optional(),
  legacySessionHistories: z.array(z.string()),
});

const CronTask = z.object({
  id: z.string().min(1),
  conversationId: z.string().min(1),
  channelId: z.string(),
  platformChatId: z.string(),
  name: z.string(),
  description: z.string(),
  schedule: z.string(),
  timezone: z.string(),
  task: z.string(),
  model: z.string().optional(),
  enabled: z.boolean(),
  nextRunAt: z.string().optional(),
  lastRunAt: z.string().optional(),
});

export const StellaclawImportFile = z.object({
  format: z.literal(1),
  stellaclawWorkdirVersion: z.string(),
  nextIndexByChannel: z.record(z.string(), z.number().int().nonnegative()),
  conversations: z.array(Conversation),
  channels: z.array(
    z.object({
      channelId: z.string().min(1),
      adminUserIds: z.array(z.number().int()),
      chats: z.array(
        z.object({
          chatId: z.string().min(1),
          state: z.enum(["pending", "approved", "rejected"]),
          lastTitle: z.string().optional(),
          lastUser: z.string().optional(),
        }),
      ),
    }),
  ),
  cronTasks: z.array(CronTask),
  warnings: z.array(z.string()),
}) satisfies z.ZodType<StellaclawImport>;
export type StellaclawImportFile = z.infer<typeof StellaclawImportFile>;

/** The import migration 0002 left in `workdir`, checked; `undefined` when there is none. */
export async function loadStellaclawImport(workdir: string): Promise<StellaclawImportFile | undefined> {
  const file = stellaclawImportPath(workdir);
  const advice = "Fix it, or move it away to start without importing the Stellaclaw state.";
  let raw: StellaclawImport | undefined;
  try {
    raw = await readStellaclawImport(workdir);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}. ${advice}`, { cause: err });
  }
  if (raw === undefined) return undefined;
  const parsed = StellaclawImportFile.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`).join("; ");
  throw new Error(`${file} is damaged (${problems}). ${advice}`);
}
