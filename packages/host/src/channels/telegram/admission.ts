import { setTimeout as sleep } from "node:timers/promises";
import type pino from "pino";
import type { ContentItem } from "@starling/protocol";
import type { ChatRef, CommandReply, ConversationController, UserRef } from "../channel.js";
import type { HostCommitPoint, HostStore, HostTransaction } from "../../state/host-store.js";
import { recordUpdate, updateIsNew, type UpdateRef } from "../../state/update-record.js";
import { queueOutbound } from "../../state/outbox.js";
import type { AccessControl, AccessDecision } from "./access.js";
import type { AlbumCollector } from "./album.js";
import type { BotApi } from "./bot-api.js";
import { migrateChat, migratedChat } from "./chat-migration.js";
import { isAdminCommand, parseCommand, runAdminCommand, startReply, unknownCommandReply } from "./commands.js";
import type { InboundDownloads } from "./inbound-downloads.js";
import { inboundFiles, type InboundFile } from "./inbound-media.js";
import { PendingCommands, type HeldUpdate, type PendingCommand } from "./pending-commands.js";
import { addressesBot, chatRef, contextLines, isGroup, messageText, userRef, type TelegramCallbackQuery, type TelegramMessage, type TelegramUpdate } from "./telegram-message.js";

/**
 * How long a button press waits for its run before its query is answered without text: the answer's text (a
 * button no longer active) comes from the run, and the user's client shows a spinner until the query is answered.
 * Only the press's answer waits; the poller goes on at once.
 */
const PRESS_ANSWER_MS = 1000;

export interface AdmissionOptions {
  channelId: string;
  store: HostStore;
  api: BotApi;
  access: AccessControl;
  controller: ConversationController;
  log: pino.Logger;
  /** The bot's @username (from getMe), null until known. */
  botUsername: () => string | null;
  /** The bot's user id (from getMe), null until known. */
  botId: () => number | null;
  /** Which group messages reach the session: those addressing the bot (`mention`, default) or `all`. */
  groupTrigger: "mention" | "all";
  /** New outbox items were committed. */
  wakeOutbox: () => void;
  albums: AlbumCollector;
  /** Downloads the files of admitted messages (woken after each such admission). */
  downloads: InboundDownloads;
  /** The channel stops (pending-commands.ts). */
  signal: AbortSignal;
}

/**
 * Turns one Telegram update into its durable effect (ARCHITECTURE §5.1): a user message goes to
 * `controller.admit` (which records the update id in its batch); everything the channel handles
 * itself — access notices, commands, callbacks, ignored updates — commits the update id together
 * with the replies it queues. Pending and rejected chats never reach the controller. Conversation
 * commands are admitted by storing them and run off the poller (pending-commands.ts); the chat's later
 * updates are stored behind them and admitted here when their chat's lane reaches them (`held`: the key of
 * that record, deleted in the batch that admits the update).
 */
export class UpdateAdmission {
  readonly commands: PendingCommands;

  constructor(private readonly o: AdmissionOptions) {
    this.commands = new PendingCommands({
      channelId: o.channelId,
      store: o.store,
      log: o.log,
      // A chat upgraded to a supergroup while these waited in its lane: they are answered there (chat-migration.ts).
      run: (c) => {
        const chat = migratedChat(o.store, c.chat);
        return c.kind === "command" ? this.runCommand(chat, c.user, c.updateId, c.name, c.args, c.addressed) : this.runCallback(chat, c.user, c.updateId, c.data);
      },
      admitHeld: (held, key) => this.dispatch(this.readdressed(held.update), key),
      reply: (tx, chat, reply) => this.reply(tx, migratedChat(o.store, chat), reply),
      wakeOutbox: o.wakeOutbox,
      signal: o.signal,
    });
  }

  /**
   * Admits the leading run of plain private text messages of a `getUpdates` batch in ONE sync batch
   * (commit point `admit`): access decisions, conversations and inbound items of all of them, and
   * the last update id. Returns how many updates it admitted: 0 when the batch does not start with
   * at least two such messages (the caller then handles the first update with `handle`). Files,
   * commands, albums, groups and callbacks keep the one-by-one path.
   */
  async handleBatch(updates: TelegramUpdate[]): Promise<number> {
    const admitBatch = this.o.controller.admitBatch?.bind(this.o.controller);
    const run: { updateId: number; chat: ChatRef; user: UserRef; message: TelegramMessage; body: string }[] = [];
    let last = this.o.store.lastUpdateId(this.o.channelId);
    for (const update of updates) {
      const plain = update.update_id > last ? this.plainMessage(update) : null;
      if (!plain || this.commands.holds(plain.chat)) break; // one behind its chat's command is held (`handle`)
      run.push(plain);
      last = update.update_id;
    }
    if (!admitBatch || run.length < 2) return 0;
    for (const chatId of new Set(run.map((r) => r.chat.chatId))) await this.o.albums.flushBefore(run.find((r) => r.chat.chatId === chatId)!.chat);
    const blocked: { chat: ChatRef; access: string }[] = [];
    await admitBatch(
      run.map(({ updateId, chat, user, message, body }) => (tx) => {
        const decision = this.o.access.decide(tx, chat, user);
        if (decision.kind === "blocked") {
          this.markUpdate(tx, updateId, undefined);
          blocked.push({ chat, access: decision.access });
          return null;
        }
        const time = new Date(message.date * 1000).toISOString();
        return { chat, user, updateId, messageId: `${this.o.channelId}:${updateId}`, message: { role: "user", userName: user.name, time, content: [{ type: "text", text: body }] }, source: { sourceId: message.message_id, text: body } };
      }),
    );
    for (const b of blocked) this.o.log.info({ chatId: b.chat.chatId, access: b.access }, "message from a chat that is not approved");
    this.o.wakeOutbox();
    return run.length;
  }

  /** A private text message without files or a command (what `handleBatch` admits together), else null. */
  private plainMessage(update: TelegramUpdate): { updateId: number; chat: ChatRef; user: UserRef; message: TelegramMessage; body: string } | null {
    const message = update.message;
    if (!message?.from || message.from.is_bot || message.media_group_id || inboundFiles(message).length) return null;
    const chat = chatRef(this.o.channelId, message);
    if (chat.type !== "private" || chat.threadId !== undefined || chat.chatId !== String(message.from.id)) return null;
    const text = messageText(message);
    if (parseCommand(text)) return null;
    const body = [text.trim(), ...contextLines(message)].filter(Boolean).join("\n\n");
    return body ? { updateId: update.update_id, chat, user: userRef(message.from), message, body } : null;
  }

  async handle(update: TelegramUpdate): Promise<void> {
    if (update.update_id <= this.o.store.lastUpdateId(this.o.channelId)) return;
    const chat = this.heldChat(update);
    if (chat && this.commands.holds(chat)) return this.hold(update, chat);
    return this.dispatch(update, undefined);
  }

  /** `held`: the update waited behind its chat's command in that record (UpdateRef.pendingKey). */
  private dispatch(update: TelegramUpdate, held: string | undefined): Promise<void> {
    if (update.message) return this.message(update.update_id, update.message, held);
    if (update.edited_message) return this.edited(update.update_id, update.edited_message, held);
    if (update.callback_query) return this.callback(update.update_id, update.callback_query, held);
    return this.commit(null, update.update_id, () => undefined, held);
  }

  /** A held update of a group upgraded since it was held, as if it had come from the supergroup. */
  private readdressed(update: TelegramUpdate): TelegramUpdate {
    const message = update.message ?? update.edited_message ?? update.callback_query?.message;
    if (!message) return update;
    const to = migratedChat(this.o.store, chatRef(this.o.channelId, message));
    if (to.chatId === String(message.chat.id)) return update;
    const moved: TelegramMessage = { ...message, chat: { ...message.chat, id: Number(to.chatId), type: "supergroup" } };
    if (update.message) return { ...update, message: moved };
    if (update.edited_message) return { ...update, edited_message: moved };
    return update.callback_query ? { ...update, callback_query: { ...update.callback_query, message: moved } } : update;
  }

  /**
   * The chat whose conversation the update would reach (its lane), or null for those that stay on the poller
   * even behind a command: admin commands and the admin's approve/reject buttons (the next updates' access
   * decisions must see them at once), a group's upgrade to a supergroup (it moves the chat), updates of no chat.
   */
  private heldChat(update: TelegramUpdate): ChatRef | null {
    const message = update.message ?? update.edited_message ?? update.callback_query?.message;
    if (!message || message.migrate_to_chat_id !== undefined || message.migrate_from_chat_id !== undefined) return null;
    const command = update.message ? parseCommand(messageText(update.message)) : null;
    if (command && isAdminCommand(command.name) && this.o.access.isAdmin(userRef(update.message?.from).userId)) return null;
    if (update.callback_query && ADMIN_BUTTON.test(update.callback_query.data ?? "")) return null;
    return chatRef(this.o.channelId, message);
  }

  /**
   * Stores an update of a chat whose lane is busy with its update id (commit point `update_held`) and queues it
   * in that lane: it is admitted after the command (pending-commands.ts). A press is answered now (its spinner).
   */
  private async hold(update: TelegramUpdate, chat: ChatRef): Promise<void> {
    const held: HeldUpdate = { kind: "update", updateId: update.update_id, chat, update };
    await this.commit("update_held", update.update_id, (tx) => this.commands.put(tx, held));
    this.o.log.info({ chatId: chat.chatId, updateId: update.update_id }, "update held behind its chat's command");
    this.commands.queue(held);
    if (update.callback_query) await this.answerQuery(update.callback_query, undefined);
  }

  private async message(updateId: number, message: TelegramMessage, held: string | undefined): Promise<void> {
    const { controller, access, log } = this.o;
    if (message.migrate_to_chat_id !== undefined || message.migrate_from_chat_id !== undefined) return this.migrated(updateId, message);
    if (!message.from || message.from.is_bot) return this.commit(null, updateId, () => undefined, held);
    const chat = chatRef(this.o.channelId, message);
    const user = userRef(message.from);
    const text = messageText(message);
    const command = parseCommand(text);
    if (command?.bot && command.bot.toLowerCase() !== (this.o.botUsername() ?? command.bot).toLowerCase()) {
      return this.commit(null, updateId, () => undefined, held); // addressed to another bot
    }
    if (command && isAdminCommand(command.name) && access.isAdmin(user.userId)) {
      return this.commit(
        "chat_access",
        updateId,
        (tx) => {
          const reply = runAdminCommand(access, tx, command.name, command.args, chat.chatId);
          this.reply(tx, chat, reply);
        },
        held,
      );
    }
    const decision = await this.decide(chat, user, updateId, held);
    if (decision.kind === "blocked") {
      log.info({ chatId: chat.chatId, access: decision.access }, "message from a chat that is not approved");
      return;
    }
    if (command && this.runsOffPoller(command.name)) {
      // It may wait on the chat's session worker (up to its answer deadline): other chats must not.
      const pending: PendingCommand = { kind: "command", updateId, chat, user, name: command.name, args: command.args, addressed: command.bot !== undefined };
      if (held) {
        await this.commands.answerHeld(pending); // in its lane already; the reply's batch deletes the held record (same key)
        return;
      }
      await this.commit("command_pending", updateId, (tx) => this.commands.put(tx, pending));
      void this.commands.start(pending);
      return;
    }
    if (command) {
      const reply = await this.runCommand(chat, user, updateId, command.name, command.args, command.bot !== undefined);
      if (!reply) return this.commit(null, updateId, () => undefined, held);
      return this.commit("admit", updateId, (tx) => this.reply(tx, chat, reply), held);
    }

    const files = inboundFiles(message);
    const contextOnly = this.contextOnly(chat, message);
    const album = message.media_group_id;
    const body = this.body(message, contextOnly);
    if (!body && !files.length) return this.commit(null, updateId, () => undefined, held);
    if (contextOnly && !album) {
      const time = new Date(message.date * 1000).toISOString();
      const source = { sourceId: message.message_id, text: body };
      await controller.admit({ chat, user, updateId, ...pendingKey(held), messageId: `${this.o.channelId}:${updateId}`, contextOnly, message: { role: "user", userName: user.name, time, content: [{ type: "text", text: body }] }, source });
      return;
    }
    const content: ContentItem[] = body && !album ? [{ type: "text", text: body }] : [];
    if (!album) {
      // Admitted now, held until its files are downloaded (inbound-downloads.ts): a slow download holds no other chat.
      await this.o.albums.flushBefore(chat);
      await this.admitMessage(chat, user, updateId, message, content, files, held);
      if (files.length) this.o.downloads.wake();
      return;
    }
    // One part of a media group: stored now; the album goes to the session as one message, its files downloaded then (album.ts).
    const time = new Date(message.date * 1000).toISOString();
    await this.o.albums.add({ mediaGroupId: album, updateId, sourceId: message.message_id, chat, user, time, text: body, files: [], pendingFiles: files, addressed: !contextOnly, group: isGroup(chat) }, held);
  }

  /** In a group, only messages addressing the bot start a turn; the others are kept as context. */
  private contextOnly(chat: ChatRef, message: TelegramMessage): boolean {
    return isGroup(chat) && this.o.groupTrigger === "mention" && !addressesBot(message, { id: this.o.botId(), username: this.o.botUsername() });
  }

  /** The text the model gets from a message (its files as items, or named when it is group context). */
  private body(message: TelegramMessage, contextOnly: boolean): string {
    const fileNotes = contextOnly && !message.media_group_id ? inboundFiles(message).map((f) => `[${f.kind}: ${f.name}]`) : [];
    return [messageText(message).trim(), ...contextLines(message), ...fileNotes].filter(Boolean).join("\n\n");
  }

  /**
   * A user's edit (ARCHITECTURE §8 "Edited messages"): of a message the bot admitted, from a chat still
   * approved, it replaces the message while that waits, else it is a new input quoting the change (group
   * mention rules as for a message); an album part's edit replaces that part (album.ts, album-edits.ts). Anything
   * else is ignored like its message was: edits of commands, album parts admitted by older hosts, messages
   * refused or from a chat not approved then (no record of them), edits into a command (send the command
   * again), and edits from a chat not approved now (no notice).
   */
  private async edited(updateId: number, message: TelegramMessage, held: string | undefined): Promise<void> {
    const edit = this.o.controller.edit?.bind(this.o.controller);
    const chat = chatRef(this.o.channelId, message);
    const ignore = (why: string) => {
      this.o.log.info({ chatId: chat.chatId, messageId: message.message_id, why }, "edited message ignored");
      return this.commit(null, updateId, () => undefined, held);
    };
    if (!edit || !message.from || message.from.is_bot) return ignore("not from a user");
    if (parseCommand(messageText(message))) return ignore("edited into a command");
    if (this.o.access.status(chat.chatId) !== "approved") return ignore("chat not approved");
    const user = userRef(message.from);
    const contextOnly = this.contextOnly(chat, message);
    const time = new Date((message.edit_date ?? message.date) * 1000).toISOString();
    const files = inboundFiles(message);
    const album = message.media_group_id;
    if (album && (await this.o.albums.edit({ mediaGroupId: album, updateId, sourceId: message.message_id, chat, text: this.body(message, contextOnly), pendingFiles: files, addressed: !contextOnly }, held))) {
      this.o.log.info({ chatId: chat.chatId, messageId: message.message_id, outcome: "album_part" }, "edited message");
      return;
    }
    const outcome = await edit({ chat, user, updateId, ...pendingKey(held), sourceId: message.message_id, text: this.body(message, contextOnly), messageId: `${this.o.channelId}:${updateId}`, time, contextOnly, ...(files.length ? { files } : {}) });
    if (outcome.kind === "unknown") this.o.log.info({ chatId: chat.chatId, messageId: message.message_id }, "edit of a message the bot did not admit (or no longer knows); ignored");
    else this.o.log.info({ chatId: chat.chatId, messageId: message.message_id, outcome: outcome.kind }, "edited message");
    if (files.length) this.o.downloads.wake(); // a replaced file is held until it is downloaded (in its message or a new input)
    this.o.wakeOutbox();
  }

  /** A basic group upgraded to a supergroup: its approval, conversation and queued replies follow the new chat id (chat-migration.ts). */
  private async migrated(updateId: number, message: TelegramMessage): Promise<void> {
    const here = String(message.chat.id);
    const [from, to] = message.migrate_to_chat_id !== undefined ? [here, String(message.migrate_to_chat_id)] : [String(message.migrate_from_chat_id), here];
    const title = message.migrate_from_chat_id !== undefined ? message.chat.title : undefined;
    this.o.log.info({ chatId: from, newChatId: to }, "group upgraded to a supergroup; the conversation follows it");
    await this.commit("chat_access", updateId, (tx) => {
      migrateChat(tx, this.o.store, this.o.channelId, from, to, title);
    });
  }

  /** Admits a message through the controller. */
  private async admitMessage(chat: ChatRef, user: UserRef, updateId: number, message: TelegramMessage, content: ContentItem[], files: InboundFile[], held: string | undefined): Promise<void> {
    await this.o.controller.admit({
      chat,
      user,
      updateId,
      ...pendingKey(held),
      messageId: `${this.o.channelId}:${updateId}`,
      message: { role: "user", userName: user.name, time: new Date(message.date * 1000).toISOString(), content },
      ...(files.length ? { pendingFiles: files } : {}),
      source: { sourceId: message.message_id, text: content.find((item) => item.type === "text")?.text ?? "", ...(files.length ? { files: files.map((f) => f.name) } : {}) },
    });
  }

  /**
   * The controller's commands (and /start, its help): stored and answered off the poller. Unknown commands
   * are answered here at once; admin commands never get here (they change access, which the next updates'
   * decisions must see).
   */
  private runsOffPoller(name: string): boolean {
    return name === "start" || this.o.controller.commands().some((c) => c.command.toLowerCase() === name);
  }

  /**
   * The reply to a command; null for an unknown command in a group that was not addressed to this bot
   * (`/cmd`, not `/cmd@this_bot`): it is most likely another bot's, and answering it would be noise.
   */
  private async runCommand(chat: ChatRef, user: UserRef, updateId: number, name: string, args: string, addressed: boolean): Promise<CommandReply | null> {
    const { controller, log } = this.o;
    const known = new Set(controller.commands().map((c) => c.command.toLowerCase()));
    try {
      if (name === "start") {
        const help = await controller.command({ chat, user, updateId, name: "help", args: "" });
        return startReply(help, this.o.access.isAdmin(user.userId));
      }
      if (isAdminCommand(name)) return { text: `Only the bot's admin can use /${name}.` };
      if (!known.has(name)) return addressed || !isGroup(chat) ? unknownCommandReply(name) : null;
      return await controller.command({ chat, user, updateId, name, args });
    } catch (err) {
      log.error({ command: name, chatId: chat.chatId, error: err instanceof Error ? err.message : String(err) }, "command failed");
      return { text: `⚠️ /${name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** The reply to an inline-keyboard press; null when the button is not the host's (any more). */
  private async runCallback(chat: ChatRef, user: UserRef, updateId: number, data: string): Promise<CommandReply | null> {
    try {
      return await this.o.controller.callback({ chat, user, updateId, data });
    } catch (err) {
      this.o.log.error({ chatId: chat.chatId, error: err instanceof Error ? err.message : String(err) }, "callback failed");
      return { text: `⚠️ That button failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** `held`: the press was answered when it was held (answerCallbackQuery once). */
  private async callback(updateId: number, query: TelegramCallbackQuery, held: string | undefined): Promise<void> {
    const { access } = this.o;
    let answer: string | undefined;
    let answerLater = false;
    try {
      const message = query.message;
      if (!message) return await this.commit(null, updateId, () => undefined, held);
      const chat = chatRef(this.o.channelId, message);
      const user = userRef(query.from);
      const data = query.data ?? "";
      const admin = ADMIN_BUTTON.exec(data);
      if (admin) {
        if (!access.isAdmin(user.userId)) {
          answer = "Only the bot's admin can do this.";
          return await this.commit(null, updateId, () => undefined, held);
        }
        return await this.commit(
          "chat_access",
          updateId,
          (tx) => {
            const reply = runAdminCommand(access, tx, `admin_chat_${admin[1]}`, admin[2]!, chat.chatId);
            answer = reply.text.slice(0, 190);
            this.reply(tx, chat, reply);
          },
          held,
        );
      }
      const decision = await this.decide(chat, user, updateId, held);
      if (decision.kind === "blocked") {
        answer = "This chat is not approved yet.";
        return;
      }
      // A press may wait on the chat's worker too (a model pick restarts it): stored and run like a command.
      const pending: PendingCommand = { kind: "callback", updateId, chat, user, data };
      if (held) {
        await this.commands.answerHeld(pending, { text: INACTIVE_BUTTON });
        return;
      }
      await this.commit("command_pending", updateId, (tx) => this.commands.put(tx, pending));
      answerLater = true;
      void this.answerWhenRun(query, this.commands.start(pending));
    } finally {
      // Always answer, or the user's client shows a spinner on the button.
      if (!held && !answerLater) await this.answerQuery(query, answer);
    }
  }

  /** Answers a press when its run ends (a button no longer active says so), or without text after PRESS_ANSWER_MS. */
  private async answerWhenRun(query: TelegramCallbackQuery, run: Promise<CommandReply | null | undefined>): Promise<void> {
    const waited = new AbortController();
    const reply = await Promise.race([run, sleep(PRESS_ANSWER_MS, undefined, { signal: waited.signal }).catch(() => undefined)]);
    waited.abort();
    await this.answerQuery(query, reply === null ? INACTIVE_BUTTON : undefined);
  }

  private async answerQuery(query: TelegramCallbackQuery, text: string | undefined): Promise<void> {
    const { api, log } = this.o;
    await api
      .call("answerCallbackQuery", { callback_query_id: query.id, text }, { maxAttempts: 2, quiet: true })
      .catch((err: unknown) => log.debug({ error: api.describe(err) }, "answerCallbackQuery failed"));
  }

  /** Access decision; a blocked update is finished here (its id committed with the notices). */
  private async decide(chat: ChatRef, user: UserRef, updateId: number, held: string | undefined): Promise<AccessDecision> {
    const { decision, queued } = await this.o.store.commit("chat_access", (tx) => {
      const d = this.o.access.decide(tx, chat, user);
      if (d.kind === "blocked") this.markUpdate(tx, updateId, held);
      return { decision: d, queued: queuedOutbound(tx) };
    });
    if (queued) this.o.wakeOutbox();
    return decision;
  }

  /**
   * Commits `build` plus the update id as one batch, then wakes the outbox if anything was queued. A held
   * update's batch deletes its record instead, and is not built when the record is gone (handled before).
   */
  private async commit(point: HostCommitPoint | null, updateId: number, build: (tx: HostTransaction) => void, held?: string): Promise<void> {
    const queued = await this.o.store.commit(point, (tx) => {
      if (held !== undefined && !updateIsNew(this.o.store, this.updateRef(updateId, held))) return false;
      build(tx);
      this.markUpdate(tx, updateId, held);
      return queuedOutbound(tx);
    });
    if (queued) this.o.wakeOutbox();
  }

  private markUpdate(tx: HostTransaction, updateId: number, held: string | undefined): void {
    recordUpdate(this.o.store, tx, this.updateRef(updateId, held));
  }

  private updateRef(updateId: number, held: string | undefined): UpdateRef {
    return { channelId: this.o.channelId, updateId, ...pendingKey(held) };
  }

  /** Queues an answer to the chat (to its forum topic when the message came from one). */
  private reply(tx: HostTransaction, chat: Pick<ChatRef, "chatId" | "threadId">, reply: CommandReply): void {
    const { chatId, threadId } = chat;
    const conversationId = this.o.store.conversationOfChat(this.o.channelId, chatId, threadId)?.id ?? "";
    const target = { channelId: this.o.channelId, chatId, conversationId, ...(threadId === undefined ? {} : { threadId }) };
    queueOutbound(tx, target, { kind: "text", text: reply.text, replyMarkup: reply.buttons });
  }
}

/** A press of a button the host no longer knows (its query's answer, or a chat message for a press held behind a command). */
const INACTIVE_BUTTON = "This button is no longer active.";

/** The admin's approve/reject buttons (`admin:approve:<chat id>`). */
const ADMIN_BUTTON = /^admin:(approve|reject):(-?\d+)$/;

/** `pendingKey` for an input, when the update was held. */
function pendingKey(held: string | undefined): { pendingKey?: string } {
  return held === undefined ? {} : { pendingKey: held };
}

function queuedOutbound(tx: HostTransaction): boolean {
  return tx.ops.some((op) => op.type === "put" && op.key.startsWith("outbound:"));
}
