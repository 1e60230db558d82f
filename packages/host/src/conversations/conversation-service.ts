import PQueue from "p-queue";
import type pino from "pino";
import type { ContentItem } from "@starling/protocol";
import type { AdmitInput, AdmitOutcome, CallbackInput, EditInput, EditOutcome, ChatRef, CommandInput, CommandReply, ConversationController, PendingDownload } from "../channels/channel.js";
import type { SessionSupervisor } from "../sessions/supervisor.js";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import { queueOutbound } from "../state/outbox.js";
import { recordUpdate, updateIsNew, type UpdateRef } from "../state/update-record.js";
import type { ConversationRecord, DedupeRecord, InboundItem, PendingFile } from "../state/records.js";
import { conversationCommands, runCommand } from "./commands.js";
import { startingModel, type HostSettings } from "./settings.js";
import { DEFAULT_LIMITS, InboundLimits } from "./inbound-limits.js";
import { queueRefusalNotice } from "./refusal-notices.js";
import { keepAsContext, withGroupContext } from "./group-context.js";
import { hasHeld, holdAgain, releaseReady } from "./held-items.js";
import { withAlbumPartReplaced, withFilesStored } from "./album-edits.js";
import { contextFileNotice, contextFiles, editNotice, fileEditNotice, recordSource, replacedFiles, replaceText, sameFiles, sourceKey, waitingItem, withFilesReplaced, type SourceRecord } from "./message-edits.js";
import { seedWorkspaceAsync } from "./workspace.js";
import { SessionIndex, type SessionType } from "./session-index.js";
import { cronCallback } from "../cron/cron-command.js";
import { CancelsInFlight } from "../agents/cancels-in-flight.js";
import { effortAfterModelChange } from "./reasoning-command.js";
import { restartStoppedNote } from "./background-note.js";

export const foregroundSessionId = (conversationId: string) => `${conversationId}.foreground`;

/** Conversations: one per chat, each with its workspace, model choice and foreground session. */
export class ConversationService implements ConversationController {
  private readonly limits: InboundLimits;
  private readonly sessionIndex: SessionIndex;
  /** Workspaces seeded in this process run (workspaceReady). */
  private readonly seeded = new Map<string, Promise<string>>();
  /** A few seeds at a time: a flood's thousand need not all wait in the thread pool at once. */
  private readonly seeding = new PQueue({ concurrency: 4 });
  readonly supervisor: SessionSupervisor;
  /** Foreground sessions whose /cancel is between its subagents' kills and its worker (agents/cancels-in-flight.ts). */
  readonly cancelsInFlight = new CancelsInFlight();

  /**
   * `sessions` builds the supervisor; it gets this service because the supervisor's hooks (launch, event
   * replies, host actions) call back into it, so both are built together without a late-bound reference.
   */
  constructor(
    readonly store: HostStore,
    readonly settings: HostSettings,
    sessions: (service: ConversationService) => SessionSupervisor,
    readonly log: pino.Logger,
  ) {
    this.limits = new InboundLimits(settings.limits ?? DEFAULT_LIMITS);
    this.sessionIndex = new SessionIndex(store);
    this.supervisor = sessions(this);
  }

  get modelAliases(): string[] {
    return Object.keys(this.settings.chatModels);
  }

  /** The conversation a session belongs to, found by the stored records naming the session (session-index.ts). */
  conversationOfSession(sessionId: string): ConversationRecord | undefined {
    const id = this.sessionIndex.conversationIdOf(sessionId);
    return id === undefined ? undefined : this.store.conversation(id);
  }

  /** `foreground`, `background` or `subagent`, from the stored records naming the session (session-index.ts). */
  sessionTypeOf(sessionId: string): SessionType {
    return this.sessionIndex.typeOf(sessionId);
  }

  /** The chat's conversation, created (durably, with its workspace) on first use. */
  async ensureConversation(chat: ChatRef): Promise<ConversationRecord> {
    const existing = this.store.conversationOfChat(chat.channelId, chat.chatId, chat.threadId);
    if (existing) return existing;
    return this.store.commit("conversation", (tx) => this.createIn(tx, chat));
  }

  private createIn(tx: HostTransaction, chat: ChatRef): ConversationRecord {
    const existing = this.store.conversationOfChat(chat.channelId, chat.chatId, chat.threadId);
    if (existing) return existing;
    const index = tx.next(`conv:${chat.channelId}`);
    const id = `${chat.channelId}-${String(index).padStart(6, "0")}`;
    const conversation: ConversationRecord = {
      id,
      channelId: chat.channelId,
      chatId: chat.chatId,
      ...(chat.threadId === undefined ? {} : { threadId: chat.threadId }),
      index,
      createdAt: new Date().toISOString(),
      modelAlias: startingModel(this.settings),
      pendingModelChoice: false,
      sandboxOverride: null,
      remote: null,
      foreground: { sessionId: foregroundSessionId(id), generation: 1 },
      archivedSessions: [],
    };
    // Made once the record is durable, off the event loop; a worker start waits for it (workspaceReady).
    tx.afterCommit(() => void this.workspaceReady(id).catch((err: unknown) => this.log.error({ conversationId: id, err: String(err) }, "creating the conversation's workspace failed")));
    tx.put(HostKeys.conversation(id), conversation);
    tx.put(HostKeys.chatConversation(chat.channelId, chat.chatId, chat.threadId), id);
    return conversation;
  }

  /**
   * The conversation's workspace, created (or refreshed) once per process run: a worker starts in it only
   * after this (host.ts `launch`). After a crash between the conversation's commit and its folders, the
   * first start makes them.
   */
  workspaceReady(conversationId: string): Promise<string> {
    let ready = this.seeded.get(conversationId);
    if (!ready) {
      ready = this.seeding.add(() => seedWorkspaceAsync(this.settings.workdir, conversationId));
      this.seeded.set(conversationId, ready);
      ready.catch(() => this.seeded.delete(conversationId)); // tried again by the next caller
    }
    return ready;
  }

  async workspaceFor(chat: ChatRef): Promise<string> {
    const conversation = await this.ensureConversation(chat);
    return this.workspaceReady(conversation.id);
  }

  /**
   * One sync batch: update id, conversation (if new), the inbound item (or held item + model picker),
   * or, over a limit (inbound-limits.ts), only the update id and a notice that names the message.
   */
  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    const outcome = await this.store.commit("admit", (tx) => this.admitIn(tx, input, 0, () => this.waitingMessages()));
    this.afterAdmit(input, outcome);
    return outcome;
  }

  /** Several admissions in one sync batch (ConversationController.admitBatch). */
  async admitBatch(steps: ((tx: HostTransaction) => AdmitInput | null)[]): Promise<(AdmitOutcome | null)[]> {
    const inputs: (AdmitInput | null)[] = [];
    const outcomes = await this.store.commit("admit", (tx) => {
      const fromChat = new Map<string, number>();
      // Counted once per batch (a count per update made a 100-update batch quadratic); each message
      // admitted by this batch adds one waiting item.
      const waitingBefore = this.waitingMessages();
      let added = 0;
      const waiting = () => waitingBefore + added;
      return steps.map((step) => {
        const input = step(tx);
        inputs.push(input);
        if (!input) return null;
        const chatKey = chatKeyOf(input);
        const outcome = this.admitIn(tx, input, fromChat.get(chatKey) ?? 0, waiting);
        if (outcome.kind === "admitted" || outcome.kind === "awaiting_model") {
          fromChat.set(chatKey, (fromChat.get(chatKey) ?? 0) + 1);
          added++;
        }
        return outcome;
      });
    });
    outcomes.forEach((outcome, i) => {
      if (outcome) this.afterAdmit(inputs[i]!, outcome);
    });
    return outcomes;
  }

  /**
   * What admitting `input` writes into `tx`; `pendingFromChat`: earlier admissions of the same chat in this
   * batch; `edited`: the message is an edit notice (message-edits.ts), recorded as such.
   */
  private admitIn(tx: HostTransaction, input: AdmitInput, pendingFromChat: number, waiting: () => number, edited?: Pick<SourceRecord, "body" | "before">): AdmitOutcome {
    if (input.staged) {
      if (!input.staged.length || input.staged.some((key) => this.store.get(key) === undefined)) return { kind: "duplicate" };
      for (const key of input.staged) tx.del(key);
    } else if (input.dedupeKey !== undefined) {
      if (this.store.get(input.dedupeKey) !== undefined) return { kind: "duplicate" };
      tx.put(input.dedupeKey, { messageId: input.messageId } satisfies DedupeRecord);
    } else {
      const update = updateRef(input);
      if (!updateIsNew(this.store, update)) return { kind: "duplicate" };
      recordUpdate(this.store, tx, update);
    }
    const conversation = this.createIn(tx, input.chat);
    const source = (seq?: number) => {
      const record = (sourceId: number, text: string, files: string[] | undefined, part?: Pick<SourceRecord, "albumPart">) =>
        recordSource(this.store, tx, input.chat.channelId, input.chat.chatId, { sourceId, conversationId: conversation.id, messageId: input.messageId, ...(seq === undefined ? {} : { seq }), text, ...(files?.length ? { files } : {}), ...edited, ...part });
      if (input.source) record(input.source.sourceId, input.source.text, input.source.files);
      // A part kept as group context lists no files, as a message kept as context: an edit addressing the bot brings them.
      for (const part of input.albumParts ?? []) record(part.sourceId, part.text, seq === undefined ? undefined : part.files, { albumPart: true });
    };
    if (input.contextOnly) {
      source();
      keepAsContext(this.store, tx, conversation.id, input.message);
      return { kind: "context", conversationId: conversation.id };
    }
    const refusal = this.limits.check(chatKeyOf(input), waiting(), pendingFromChat);
    if (refusal) {
      // The refusal is part of the key's record: a channel retrying under a fresh key knows from it,
      // after a crash too, that this attempt was refused and not admitted (web-conversations.ts).
      if (input.dedupeKey !== undefined) tx.put(input.dedupeKey, { messageId: input.messageId, refused: refusal.kind } satisfies DedupeRecord);
      queueRefusalNotice(this.store, tx, this.target(conversation), refusal, input.message);
      return { kind: "refused", conversationId: conversation.id, reason: refusal.kind };
    }
    const item: InboundItem = {
      seq: tx.next("inbound"),
      conversationId: conversation.id,
      sessionId: conversation.foreground.sessionId,
      messageId: input.messageId,
      message: withGroupContext(this.store, tx, conversation.id, input.message),
      admittedAt: new Date().toISOString(),
      ...(input.pendingFiles?.length ? { pendingFiles: input.pendingFiles } : {}),
      ...(input.albumParts ? { albumParts: input.albumParts } : {}),
    };
    source(item.seq);
    if (conversation.modelAlias) {
      // Behind a message whose files are still downloading (or with files of its own), it waits held.
      const held = item.pendingFiles !== undefined || hasHeld(this.store, conversation.id);
      tx.put(held ? HostKeys.held(conversation.id, item.seq) : HostKeys.inbound(item.seq), item);
      return { kind: "admitted", conversationId: conversation.id };
    }
    tx.put(HostKeys.held(conversation.id, item.seq), item);
    if (!conversation.pendingModelChoice) {
      tx.put(HostKeys.conversation(conversation.id), { ...conversation, pendingModelChoice: true });
      queueOutbound(tx, this.target(conversation), {
        kind: "text",
        text: "Which model should this conversation use? Your message will be answered once you pick one.",
        replyMarkup: this.modelKeyboard(),
      });
    }
    return { kind: "awaiting_model", conversationId: conversation.id };
  }

  /**
   * A user's edit (ARCHITECTURE §8 "Edited messages"), one sync batch (commit point `edit`) with its update
   * id: a message still waiting for its session gets the new text and files (and the edit's id, so a worker
   * that took the old one in a crash window answers the new one too instead of dropping it as a duplicate);
   * one the session took (or a group message kept as context) is followed by a new input quoting the change.
   */
  async edit(input: EditInput): Promise<EditOutcome> {
    const { channelId, chatId } = input.chat;
    const releases: (() => void)[] = [];
    try {
      const outcome = await this.store.commit("edit", (tx): EditOutcome => {
        const update = updateRef(input);
        if (!updateIsNew(this.store, update)) return { kind: "duplicate" };
        const record = this.store.get<SourceRecord>(sourceKey(channelId, chatId, input.sourceId));
        const files = record && !input.contextOnly ? replacedFiles(record, input.files) : null;
        // A group message kept as context (its files only named) that the edit now addresses: its files come with it.
        const fromContext = record && !input.contextOnly && !files ? contextFiles(record, input.files) : null;
        if (!record || (record.text === input.text && !files)) {
          recordUpdate(this.store, tx, update);
          return { kind: record ? "unchanged" : "unknown" };
        }
        const release = record.albumPart ? this.replaceAlbumPart(tx, input, record, files) : this.replaceWaiting(tx, input, record, files);
        if (release) {
          releases.push(release);
          return { kind: "replaced", conversationId: record.conversationId };
        }
        const body = files ? fileEditNotice(record.text, input.text, files) : fromContext ? contextFileNotice(record.text, input.text, fromContext) : editNotice(record.text, input.text);
        const attached = files ?? fromContext;
        const kept = attached?.map((f) => f.name) ?? record.files;
        const admit: AdmitInput = {
          chat: input.chat,
          user: input.user,
          updateId: input.updateId,
          ...(input.pendingKey === undefined ? {} : { pendingKey: input.pendingKey }),
          messageId: input.messageId,
          contextOnly: input.contextOnly,
          message: { role: "user", userName: input.user.name, time: input.time, content: [{ type: "text", text: body }] },
          ...(attached ? { pendingFiles: attached } : {}),
          source: { sourceId: input.sourceId, text: input.text, ...(kept ? { files: kept } : {}) },
        };
        return this.admitIn(tx, admit, 0, () => this.waitingMessages(), { body, before: record.text });
      });
      if (outcome.kind !== "replaced" && outcome.kind !== "unknown" && outcome.kind !== "unchanged") this.afterAdmit(input, outcome);
      return outcome;
    } finally {
      for (const release of releases) release();
    }
  }

  /**
   * Replaces the edited message in `tx` while it still waits for its session (claimed meanwhile: the returned
   * function releases the claim), else null. Replaced files replace the message's own, downloaded anew (it is
   * held again until then); a waiting item without files of its own (an edit notice) is not replaced then.
   */
  private replaceWaiting(tx: HostTransaction, input: EditInput, record: SourceRecord, files: PendingFile[] | null): (() => void) | null {
    const waiting = waitingItem(this.store, record);
    if (!waiting) return null;
    const { before } = record;
    const body = before === undefined ? input.text : files ? fileEditNotice(before, input.text, files) : editNotice(before, input.text);
    const from = record.body ?? record.text;
    const refiled = files && withFilesReplaced(waiting.item, from, body, files);
    if (files && !refiled) return null;
    const release = this.supervisor.claimWaiting(waiting.item.sessionId, waiting.item.messageId);
    if (!release) return null;
    const { channelId, chatId } = input.chat;
    recordUpdate(this.store, tx, updateRef(input));
    if (refiled) holdAgain(this.store, tx, waiting.key, { ...refiled, messageId: input.messageId });
    else tx.put(waiting.key, { ...waiting.item, messageId: input.messageId, message: replaceText(waiting.item.message, from, body) } satisfies InboundItem);
    const { body: _old, ...rest } = record;
    const names = files ? { files: files.map((f) => f.name) } : {};
    recordSource(this.store, tx, channelId, chatId, { ...rest, ...names, messageId: input.messageId, text: input.text, ...(body === input.text ? {} : { body }) });
    return release;
  }

  /**
   * Replaces one part of an album (its caption, its files) in the album's item while that waits for its session,
   * claimed as in `replaceWaiting`; null when it cannot (withAlbumPartReplaced). Every part's record follows the
   * item to the edit's host id.
   */
  private replaceAlbumPart(tx: HostTransaction, input: EditInput, record: SourceRecord, files: PendingFile[] | null): (() => void) | null {
    const waiting = waitingItem(this.store, record);
    const replaced = waiting && withAlbumPartReplaced(waiting.item, input.sourceId, input.text, files);
    if (!waiting || !replaced) return null;
    const release = this.supervisor.claimWaiting(waiting.item.sessionId, waiting.item.messageId);
    if (!release) return null;
    const { channelId, chatId } = input.chat;
    recordUpdate(this.store, tx, updateRef(input));
    const item: InboundItem = { ...replaced, messageId: input.messageId };
    if (files) holdAgain(this.store, tx, waiting.key, item);
    else tx.put(waiting.key, item);
    for (const part of item.albumParts ?? []) {
      const stored = this.store.get<SourceRecord>(sourceKey(channelId, chatId, part.sourceId));
      if (stored?.messageId !== record.messageId) continue;
      const edited = part.sourceId === input.sourceId ? { text: input.text, ...(part.files.length ? { files: part.files } : {}) } : {};
      tx.put(sourceKey(channelId, chatId, part.sourceId), { ...stored, ...edited, messageId: input.messageId } satisfies SourceRecord);
    }
    return release;
  }

  dedupeOutcome(dedupeKey: string): "refused" | "taken" | undefined {
    const record = this.store.get<DedupeRecord>(dedupeKey);
    return record === undefined ? undefined : record.refused ? "refused" : "taken";
  }

  /** In-memory bookkeeping once an admission is durable. */
  private afterAdmit(input: Pick<AdmitInput, "chat">, outcome: AdmitOutcome): void {
    if (outcome.kind === "admitted" || outcome.kind === "awaiting_model") this.limits.record(chatKeyOf(input));
    if (outcome.kind === "refused") this.log.info({ chatId: input.chat.chatId, reason: outcome.reason }, "message refused by a limit");
  }

  /** Admitted messages not yet handed to a worker (waiting for a turn slot or a model choice). */
  private waitingMessages(): number {
    return this.store.count("inbound:") + this.store.count("held:");
  }

  async command(input: CommandInput): Promise<CommandReply> {
    const conversation = await this.ensureConversation(input.chat);
    return runCommand(this, conversation, input.name, input.args);
  }

  async callback(input: CallbackInput): Promise<CommandReply | null> {
    const match = /^model:(.+)$/.exec(input.data);
    if (input.data.startsWith("cron:")) return cronCallback(this, await this.ensureConversation(input.chat), input.data);
    if (!match) return null;
    const conversation = await this.ensureConversation(input.chat);
    return this.chooseModel(conversation, match[1]!);
  }

  commands(): { command: string; description: string; hidden?: boolean }[] {
    return conversationCommands();
  }

  modelKeyboard(): { text: string; data: string }[][] {
    return this.modelAliases.map((alias) => [{ text: alias, data: `model:${alias}` }]);
  }

  /** Sets the conversation's model; messages held for the choice go to the session. */
  async chooseModel(conversation: ConversationRecord, alias: string): Promise<CommandReply> {
    if (!this.settings.chatModels[alias]) {
      return { text: `Unknown model "${alias}". Available: ${this.modelAliases.join(", ")}.`, buttons: this.modelKeyboard() };
    }
    const changed = conversation.modelAlias !== alias;
    const released = await this.store.commit("conversation", (tx) => {
      const chosen: ConversationRecord = { ...conversation, modelAlias: alias, pendingModelChoice: false };
      tx.put(HostKeys.conversation(conversation.id), chosen);
      return releaseReady(this.store, tx, chosen);
    });
    // The worker reads its model at start: restart it so the next turn uses the new one. (Messages are held
    // only while no model is set, so the released ones, woken by this commit, never meet the old worker.)
    const stopped = changed && conversation.modelAlias ? await this.supervisor.restart(conversation.foreground.sessionId) : null;
    const model = this.settings.chatModels[alias]!;
    return {
      text: `Model set to ${alias} (${model.model_name}).${effortAfterModelChange(conversation, model)}${released ? " Answering your message now." : ""}${restartStoppedNote(stopped)}`,
    };
  }

  async filesDownloaded(download: PendingDownload, items: ContentItem[], notice: string | null): Promise<boolean> {
    const { conversationId, seq } = download;
    return this.store.commit("inbound_files", (tx) => {
      const held = this.store.get<InboundItem>(HostKeys.held(conversationId, seq));
      const conversation = this.store.conversation(conversationId);
      if (!held?.pendingFiles || !conversation || !sameFiles(held.pendingFiles, download.files)) return false;
      releaseReady(this.store, tx, conversation, withFilesStored(held, items));
      if (notice) queueOutbound(tx, this.target(conversation), { kind: "text", text: notice });
      return true;
    });
  }

  pendingDownloads(channelId: string): PendingDownload[] {
    const waiting: PendingDownload[] = [];
    for (const item of this.store.list<InboundItem>("held:")) {
      const conversation = item.pendingFiles?.length ? this.store.conversation(item.conversationId) : undefined;
      if (conversation?.channelId !== channelId) continue;
      const { threadId } = conversation;
      waiting.push({ conversationId: item.conversationId, seq: item.seq, chatId: conversation.chatId, ...(threadId === undefined ? {} : { threadId }), files: item.pendingFiles! });
    }
    return waiting;
  }

  /** Where the conversation's messages go (queueOutbound copies every field, the forum topic included). */
  target(conversation: ConversationRecord): { channelId: string; chatId: string; conversationId: string; threadId?: number } {
    const target = { channelId: conversation.channelId, chatId: conversation.chatId, conversationId: conversation.id };
    return conversation.threadId === undefined ? target : { ...target, threadId: conversation.threadId };
  }
}

function chatKeyOf(input: Pick<AdmitInput, "chat">): string {
  return `${input.chat.channelId}:${input.chat.chatId}`;
}

/** The update an admission or edit comes from (its pending record when it waited behind its chat's command). */
function updateRef(input: Pick<AdmitInput, "chat" | "updateId" | "pendingKey">): UpdateRef {
  return { channelId: input.chat.channelId, updateId: input.updateId, ...(input.pendingKey === undefined ? {} : { pendingKey: input.pendingKey }) };
}
