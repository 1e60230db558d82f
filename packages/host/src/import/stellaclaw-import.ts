import type pino from "pino";
import { CronKeys, nextBackgroundSessionId, type StoredCronTask } from "../cron/cron-store.js";
import { fieldsOf } from "../cron/cron-actions.js";
import { cronNow } from "../cron/cron-clock.js";
import { checkSchedule, nextRun, ScheduleError } from "../cron/schedule.js";
import { foregroundSessionId } from "../conversations/conversation-service.js";
import { startingModel, type HostSettings } from "../conversations/settings.js";
import { seedWorkspace } from "../conversations/workspace.js";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import type { ChatRecord, ConversationRecord, SandboxMode } from "../state/records.js";
import { loadStellaclawImport, type StellaclawImportFile } from "./stellaclaw-file.js";
import { readLegacyHistory, seedOf, type LegacyHistory } from "./stellaclaw-seed.js";
import { effortLevels, knownEffort } from "../conversations/reasoning-command.js";

/** Host key marking that `state/import/stellaclaw.json` was applied (written in the import's own batch). */
export const STELLACLAW_IMPORT_KEY = "import:stellaclaw";

/** What the import did, stored under STELLACLAW_IMPORT_KEY. */
export interface AppliedStellaclawImport {
  appliedAt: string;
  stellaclawWorkdirVersion: string;
  conversations: string[];
  chats: number;
  admins: number;
  cronTasks: string[];
  warnings: string[];
}

type Conversation = StellaclawImportFile["conversations"][number];
type Cron = StellaclawImportFile["cronTasks"][number];

const SANDBOX_MODES: readonly string[] = ["subprocess", "bubblewrap"] satisfies SandboxMode[];

/** Telegram chat ids: users are positive, groups negative, supergroups and channels -100…. */
function chatType(chatId: string): string {
  if (!chatId.startsWith("-")) return "private";
  return chatId.startsWith("-100") ? "supergroup" : "group";
}

function indexOf(conversationId: string): number {
  return Number(/-(\d+)$/.exec(conversationId)?.[1] ?? 0);
}

class ImportRun {
  readonly warnings: string[] = [];
  readonly conversations: string[] = [];
  readonly cronTasks: string[] = [];
  chats = 0;
  admins = 0;
  private readonly now = new Date();
  /** What a task's first slot is counted from (cron's own "now", cron-clock.ts). */
  private readonly cronNow = cronNow();

  constructor(
    private readonly store: HostStore,
    private readonly settings: HostSettings,
    private readonly tx: HostTransaction,
  ) {}

  channels(data: StellaclawImportFile, configured: readonly string[]): void {
    const channelIds = new Set([...data.channels.map((c) => c.channelId), ...data.conversations.map((c) => c.channelId)]);
    for (const id of channelIds) {
      if (!configured.includes(id)) {
        this.warnings.push(`channel "${id}" of the Stellaclaw workdir is not in the config: its chats are imported and used once a channel with id "${id}" is configured`);
      }
    }
    for (const channel of data.channels) {
      const stored = this.store.admins(channel.channelId);
      const added = channel.adminUserIds.map(String).filter((id) => !stored.includes(id));
      if (added.length) this.tx.put(HostKeys.admins(channel.channelId), [...stored, ...added]);
      this.admins += added.length;
      for (const chat of channel.chats) {
        if (this.store.chat(channel.channelId, chat.chatId)) continue; // the host's own decision wins
        const record: ChatRecord = {
          channelId: channel.channelId,
          chatId: chat.chatId,
          access: chat.state,
          title: chat.lastTitle ?? chat.lastUser ?? "",
          type: chatType(chat.chatId),
          firstSeenAt: this.now.toISOString(),
        };
        this.tx.put(HostKeys.chat(channel.channelId, chat.chatId), record);
        this.chats++;
      }
    }
  }

  conversation(c: Conversation, history: LegacyHistory): void {
    const mapped = this.store.conversationOfChat(c.channelId, c.platformChatId);
    if (this.store.conversation(c.conversationId) || mapped) {
      this.warnings.push(`${c.conversationId}: not imported, the host already has ${mapped ? `conversation ${mapped.id} for chat ${c.platformChatId}` : "a conversation with this id"}`);
      return;
    }
    seedWorkspace(this.settings.workdir, c.conversationId);
    const record: ConversationRecord = {
      id: c.conversationId,
      channelId: c.channelId,
      chatId: c.platformChatId,
      index: indexOf(c.conversationId),
      createdAt: this.now.toISOString(),
      modelAlias: this.modelAlias(c),
      pendingModelChoice: false,
      sandboxOverride: this.sandbox(c),
      remote: c.remote ? { mode: "fixed", host: c.remote.host, path: c.remote.path } : null,
      foreground: { sessionId: foregroundSessionId(c.conversationId), generation: 1 },
      archivedSessions: [],
    };
    const effort = this.reasoningEffort(c, record.modelAlias);
    if (effort) record.reasoningEffort = effort;
    const { seed, note } = seedOf(c, history, record.modelAlias ? this.settings.chatModels[record.modelAlias]?.token_max_context : undefined);
    if (note) this.warnings.push(note);
    // The session's first worker gets it in `initialize` (sessions/seed-history.ts).
    if (seed) this.tx.put(HostKeys.seedHistory(record.foreground.sessionId), seed);
    this.tx.put(HostKeys.conversation(record.id), record);
    this.tx.put(HostKeys.chatConversation(record.channelId, record.chatId), record.id);
    this.conversations.push(record.id);
  }

  private modelAlias(c: Conversation): string | null {
    const aliases = Object.keys(this.settings.chatModels);
    const fallback = startingModel(this.settings);
    if (c.mainModel === undefined || c.modelSelectionPending) return fallback;
    if (this.settings.chatModels[c.mainModel]) return c.mainModel;
    this.warnings.push(
      `${c.conversationId}: model "${c.mainModel}" is not a chat model of this config (${aliases.join(", ") || "none"}); ` +
        (fallback ? `it now uses ${fallback}` : "the chat is asked to pick a model with its next message"),
    );
    return fallback;
  }

  /** Stellaclaw's per-conversation reasoning effort becomes the conversation's /reasoning setting. */
  private reasoningEffort(c: Conversation, alias: string | null): string | null {
    const effort = c.reasoningEffort?.trim().toLowerCase();
    if (!effort) return null;
    if (!knownEffort(effort)) {
      this.warnings.push(`${c.conversationId}: unknown reasoning effort "${c.reasoningEffort}" ignored; the model's own applies (/reasoning sets one)`);
      return null;
    }
    const model = alias ? this.settings.chatModels[alias] : undefined;
    if (model && !effortLevels(model).includes(effort)) {
      this.warnings.push(`${c.conversationId}: reasoning effort "${effort}" carried over, but ${alias} (${model.provider_type}) does not take it: its own applies until /reasoning sets one it takes`);
    }
    return effort;
  }

  private sandbox(c: Conversation): SandboxMode | null {
    if (c.sandboxMode === undefined) return null;
    if (SANDBOX_MODES.includes(c.sandboxMode)) return c.sandboxMode as SandboxMode;
    this.warnings.push(`${c.conversationId}: unknown sandbox mode "${c.sandboxMode}" ignored; the config's sandbox.mode applies`);
    return null;
  }

  /** New ids of every channel continue after the highest imported one (and Stellaclaw's own counter). */
  counters(data: StellaclawImportFile): void {
    const highest = new Map<string, number>(Object.entries(data.nextIndexByChannel).map(([ch, next]) => [ch, Math.max(0, next - 1)]));
    for (const c of data.conversations) highest.set(c.channelId, Math.max(highest.get(c.channelId) ?? 0, indexOf(c.conversationId)));
    for (const [channelId, used] of highest) {
      const key = HostKeys.counter(`conv:${channelId}`);
      if (used > (this.store.get<number>(key) ?? 0)) this.tx.put(key, used);
    }
  }

  cron(tasks: Cron[]): void {
    const counter = HostKeys.counter("cron");
    const highest = Math.max(0, ...tasks.map((t) => Number(/^cron_(\d+)$/.exec(t.id)?.[1] ?? 0)));
    if (highest > (this.store.get<number>(counter) ?? 0)) this.tx.put(counter, highest);
    for (const t of tasks) this.cronTask(t);
  }

  private cronTask(t: Cron): void {
    if (!this.store.conversation(t.conversationId)) {
      this.warnings.push(`cron task ${t.id} (${t.name}): its conversation ${t.conversationId} was not imported; task dropped`);
      return;
    }
    const drop = (why: string) => this.warnings.push(`cron task ${t.id} (${t.name}): schedule "${t.schedule}" (${t.timezone}) cannot be used: ${why}; task dropped`);
    const fields = t.schedule.trim().split(/\s+/);
    if (fields.length !== 6 && fields.length !== 7) return void drop(`${fields.length} fields, expected 6 or 7 (seconds first, optional year)`);
    let schedule: string;
    try {
      schedule = checkSchedule(fieldsOf(fields.join(" ")), t.timezone, this.cronNow);
    } catch (err) {
      if (err instanceof ScheduleError) return void drop(err.message);
      throw err;
    }
    const model = t.model !== undefined && this.settings.chatModels[t.model] ? t.model : undefined;
    if (t.model !== undefined && !model) this.warnings.push(`cron task ${t.id} (${t.name}): model "${t.model}" is not a chat model here; it runs with the conversation's model`);
    const id = this.store.get(CronKeys.task(t.id)) ? `cron_${String(this.tx.next("cron")).padStart(4, "0")}` : t.id;
    const task: StoredCronTask = {
      id,
      conversationId: t.conversationId,
      name: t.name,
      description: t.description,
      schedule,
      timezone: t.timezone,
      task: t.task,
      ...(model ? { model } : {}),
      enabled: t.enabled,
      // From now on: slots missed while neither Stellaclaw nor Starling ran are not made up.
      next_run_at: nextRun(schedule, t.timezone, this.cronNow)?.toISOString() ?? null,
      last_run_at: t.lastRunAt ?? null,
      created_at: this.cronNow.toISOString(),
      sessionId: nextBackgroundSessionId(this.tx, t.conversationId),
    };
    this.tx.put(CronKeys.task(id), task);
    this.tx.put(CronKeys.sessionLabel(task.sessionId), `⏰ ${task.name}`);
    this.cronTasks.push(id);
  }
}

/**
 * Loads what migration 0002 found in a Stellaclaw workdir into the host database, once: admins,
 * chat approvals, chat → conversation mapping (the workspace folders stay where Stellaclaw had
 * them), model/sandbox/remote settings and cron tasks, plus the conversation counters, and each
 * conversation's Stellaclaw history as its foreground session's seed (stellaclaw-seed.ts), all in one
 * batch with the "applied" mark (commit point `import`). Returns null when there is nothing to do.
 */
export async function applyStellaclawImport(
  store: HostStore,
  settings: HostSettings,
  channelIds: readonly string[],
  log: pino.Logger,
): Promise<AppliedStellaclawImport | null> {
  if (store.get(STELLACLAW_IMPORT_KEY) !== undefined) return null;
  const data = await loadStellaclawImport(settings.workdir);
  if (!data) return null;
  const histories = new Map<string, LegacyHistory>();
  for (const c of data.conversations) histories.set(c.conversationId, await readLegacyHistory(settings.workdir, c));
  const applied = await store.commit("import", (tx) => {
    const run = new ImportRun(store, settings, tx);
    run.channels(data, channelIds);
    for (const conversation of data.conversations) run.conversation(conversation, histories.get(conversation.conversationId)!);
    run.counters(data);
    run.cron(data.cronTasks);
    const summary: AppliedStellaclawImport = {
      appliedAt: new Date().toISOString(),
      stellaclawWorkdirVersion: data.stellaclawWorkdirVersion,
      conversations: run.conversations,
      chats: run.chats,
      admins: run.admins,
      cronTasks: run.cronTasks,
      warnings: run.warnings,
    };
    tx.put(STELLACLAW_IMPORT_KEY, summary);
    // Told before the write: a crash right after it must not lose them (they are also in the mark).
    for (const warning of summary.warnings) log.warn(warning);
    log.info({ stellaclawWorkdirVersion: data.stellaclawWorkdirVersion }, "importing the Stellaclaw workdir's host state");
    return summary;
  });
  log.info(
    { conversations: applied.conversations.length, chats: applied.chats, admins: applied.admins, cronTasks: applied.cronTasks.length },
    "imported the Stellaclaw workdir's host state",
  );
  return applied;
}
