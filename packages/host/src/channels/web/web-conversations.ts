import { createHash, randomUUID } from "node:crypto";
import { lstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type pino from "pino";
import type { ContentItem } from "@starling/protocol";
import type { ChatRef, CommandReply, ConversationController, UserRef } from "../channel.js";
import type { HostStore } from "../../state/host-store.js";
import type { ConversationRecord } from "../../state/records.js";
import type { PendingMessage, WebEvent, WebLog } from "./web-log.js";
import { HttpError } from "./http-error.js";

const USER: UserRef = { userId: "web", name: "web user" };
/** Commands a web message may run (`/name args`); the rest of the text goes to the model. */
const COMMAND = /^\/([a-z_]+)(?:\s+([\s\S]*))?$/i;
/** What a web message's id is to the worker: its client id after this prefix. */
export const workerMessagePrefix = (channelId: string, conversationId: string) => `${channelId}:${conversationId}:`;

export interface PostResult {
  messageId: string;
  eventId: number;
  /** `admitted`, `duplicate` (a retried POST), `awaiting_model`, `refused` (a limit; the notice is in the events), `command`. */
  status: "admitted" | "duplicate" | "awaiting_model" | "refused" | "command";
  reply?: string;
}

export interface WebConversationSummary {
  id: string;
  title: string;
  model: string | null;
  createdAt: string;
}

/** Web conversations on top of the conversation service: the same commands, sessions and outbox as Telegram. */
export class WebConversations {
  /** Per conversation: POSTs run one at a time, so a retried message id is seen by the second. */
  private readonly lanes = new Map<string, Promise<unknown>>();

  constructor(
    private readonly channelId: string,
    private readonly store: HostStore,
    private readonly controller: ConversationController,
    readonly webLog: WebLog,
    private readonly log: pino.Logger,
    private readonly written: (conversationId: string) => void,
    readonly modelAliases: () => string[],
    private readonly workspaceOf: (conversationId: string) => string,
  ) {}

  chatOf(conversation: ConversationRecord): ChatRef {
    return { channelId: this.channelId, chatId: conversation.chatId, type: "private", title: "" };
  }

  /** The channel's conversation, or a 404 naming it. */
  async get(id: string): Promise<ConversationRecord> {
    const conversation = this.store.conversation(id);
    if (!conversation || conversation.channelId !== this.channelId || (await this.webLog.meta(id))?.deleted) {
      throw new HttpError(404, "not_found", `no conversation "${id}" on this channel; list them with GET /api/conversations`);
    }
    return conversation;
  }

  async list(): Promise<WebConversationSummary[]> {
    const out: WebConversationSummary[] = [];
    for (const c of this.store.conversations()) {
      if (c.channelId !== this.channelId) continue;
      const meta = await this.webLog.meta(c.id);
      if (meta?.deleted) continue;
      out.push({ id: c.id, title: meta?.title ?? c.id, model: c.modelAlias, createdAt: c.createdAt });
    }
    return out.reverse();
  }

  async summary(c: ConversationRecord): Promise<WebConversationSummary> {
    const meta = await this.webLog.meta(c.id);
    return { id: c.id, title: meta?.title ?? c.id, model: c.modelAlias, createdAt: c.createdAt };
  }

  /** A new conversation; `chatId` names its chat (a keyed one's is derived from its key). */
  async create(title: string | undefined, model: string | undefined, chatId: string = randomUUID()): Promise<ConversationRecord> {
    if (model !== undefined && !this.modelAliases().includes(model)) throw unknownModel(model, this.modelAliases());
    const chat: ChatRef = { channelId: this.channelId, chatId, type: "private", title: title ?? "" };
    await this.controller.workspaceFor(chat); // creates the conversation durably (or finds the chat's)
    let conversation = this.store.conversationOfChat(this.channelId, chat.chatId)!;
    if (title !== undefined) await this.webLog.setMeta(conversation.id, { title });
    if (model !== undefined && conversation.modelAlias !== model) {
      await this.command(conversation, "model", model);
      conversation = this.store.conversation(conversation.id)!;
    }
    return conversation;
  }

  /**
   * The conversation of an OpenAI request with a model alias: a new one, or with an `Idempotency-Key`
   * the one its first attempt created (a retry must not start a second conversation and turn). Its chat
   * id comes from the key, so a retry after a crash before the key's record (commit point `web_keyed`)
   * finds the conversation the first attempt made and finishes it.
   */
  async createKeyed(idempotencyKey: string | undefined, model: string): Promise<ConversationRecord> {
    if (idempotencyKey === undefined) return this.create(undefined, model);
    return this.inLane(`keyed:${idempotencyKey}`, async () => {
      const known = await this.webLog.keyedConversation(idempotencyKey);
      if (known !== undefined) return this.get(known);
      const chatId = `keyed-${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 32)}`;
      const conversation = await this.create(undefined, model, chatId);
      await this.webLog.setKeyedConversation(idempotencyKey, conversation.id);
      return conversation;
    });
  }

  async update(conversation: ConversationRecord, patch: { title?: string; model?: string }): Promise<void> {
    if (patch.model !== undefined && !this.modelAliases().includes(patch.model)) throw unknownModel(patch.model, this.modelAliases());
    if (patch.title !== undefined) await this.webLog.setMeta(conversation.id, { ...(await this.webLog.meta(conversation.id)), title: patch.title });
    if (patch.model !== undefined && conversation.modelAlias !== patch.model) await this.command(conversation, "model", patch.model);
  }

  /** Hidden from the list and the API; the workspace and history stay on disk. */
  async remove(conversation: ConversationRecord): Promise<void> {
    const meta = await this.webLog.meta(conversation.id);
    await this.webLog.setMeta(conversation.id, { title: meta?.title ?? conversation.id, deleted: true });
  }

  /** Runs a conversation command; its answer is stored as an event too (the page shows it). */
  async command(conversation: ConversationRecord, name: string, args: string): Promise<CommandReply> {
    const known = this.controller.commands().map((c) => c.command);
    const reply: CommandReply = known.includes(name)
      ? await this.controller.command({ chat: this.chatOf(conversation), user: USER, updateId: 0, name, args })
      : { text: `Unknown command /${name}. Known: ${known.map((c) => `/${c}`).join(", ")}.` };
    await this.appendNotice(conversation.id, reply);
    return reply;
  }

  /** A button of an earlier event (`model:<alias>`, `cron:…`). */
  async callback(conversation: ConversationRecord, data: string): Promise<CommandReply> {
    const reply = (await this.controller.callback({ chat: this.chatOf(conversation), user: USER, updateId: 0, data })) ?? {
      text: "This button is no longer active.",
    };
    await this.appendNotice(conversation.id, reply);
    return reply;
  }

  private async appendNotice(conversationId: string, reply: CommandReply): Promise<void> {
    const event: Omit<WebEvent, "id"> = { conversationId, at: new Date().toISOString(), kind: "notice", text: reply.text, ...(reply.buttons ? { buttons: reply.buttons } : {}) };
    await this.webLog.append([event]);
    this.written(conversationId);
  }

  /**
   * A user message (ARCHITECTURE §5.1): stored in the web log with a pending mark, admitted through
   * the controller (idempotent by the client's message id), then unmarked. Answers after both are durable.
   */
  async post(conversation: ConversationRecord, text: string, messageId: string | undefined, attachments: string[]): Promise<PostResult> {
    const id = messageId ?? randomUUID();
    return this.inLane(conversation.id, async () => {
      const known = await this.webLog.userEvent(conversation.id, id);
      if (COMMAND.test(text.trim())) {
        // Stored with a pending mark until it has run: a retry (same id) or the next start runs one that
        // never did; once it ran, a retry is a duplicate. A command never goes to the model as a message.
        if (known !== undefined && !(await this.webLog.isPending(conversation.id, id))) return { messageId: id, eventId: known, status: "duplicate" };
        const { eventId, stored } = await this.webLog.storeUser({ conversationId: conversation.id, messageId: id, text, attachments: [], at: new Date().toISOString() });
        if (stored) this.written(conversation.id);
        const reply = await this.runStoredCommand(conversation, { conversationId: conversation.id, messageId: id, text, attachments: [], at: "" });
        return { messageId: id, eventId, status: "command", reply: reply.text };
      }
      for (const path of attachments) this.workspaceFile(conversation, path);
      const pending: PendingMessage = { conversationId: conversation.id, messageId: id, text, attachments, at: new Date().toISOString() };
      const { eventId, stored } = await this.webLog.storeUser(pending);
      if (stored) this.written(conversation.id);
      // A retry is a duplicate, unless a limit refused the message before: then it is admitted now (or refused again).
      return { messageId: id, eventId, status: await this.admit(conversation, pending) };
    });
  }

  /** Messages stored but not admitted when the host stopped (crash between the two writes). */
  async admitPending(): Promise<number> {
    const pending = await this.webLog.pending();
    for (const p of pending) {
      const conversation = this.store.conversation(p.conversationId);
      if (!conversation) await this.webLog.admitted(p.conversationId, p.messageId);
      else if (COMMAND.test(p.text.trim())) await this.runStoredCommand(conversation, p);
      else await this.admit(conversation, p, true);
    }
    if (pending.length) this.log.info({ messages: pending.length }, "admitted web messages stored before a restart");
    return pending.length;
  }

  /** Runs a stored command message, then drops its pending mark (a crash in between runs it again, as Telegram re-delivers). */
  private async runStoredCommand(conversation: ConversationRecord, p: PendingMessage): Promise<CommandReply> {
    const command = COMMAND.exec(p.text.trim())!;
    const reply = await this.command(conversation, command[1]!.toLowerCase(), (command[2] ?? "").trim());
    await this.webLog.admitted(conversation.id, p.messageId);
    return reply;
  }

  /**
   * Admits a stored message and drops its pending mark. Each attempt has its own dedupe key (`#n` from
   * the second on), and the admission batch that refuses one records the refusal under its key: a retry
   * of a refused message (a client told 429 "retry later") goes under the next key and is admitted then
   * instead of being a silent duplicate, after a crash right after the refusal too. `recovering`: found
   * pending at start, where a refused attempt stays refused (its notice was queued with it).
   */
  private async admit(conversation: ConversationRecord, p: PendingMessage, recovering = false): Promise<PostResult["status"]> {
    const key = (attempt: number) => `webmsg:${this.channelId}:${conversation.id}:${p.messageId}${attempt ? `#${attempt}` : ""}`;
    let attempt = await this.webLog.refusals(conversation.id, p.messageId);
    while (this.controller.dedupeOutcome(key(attempt)) === "refused") attempt++;
    if (recovering && attempt > 0) {
      await this.webLog.admitted(conversation.id, p.messageId);
      return "refused";
    }
    const workspace = await this.controller.workspaceFor(this.chatOf(conversation));
    const content: ContentItem[] = p.text ? [{ type: "text", text: p.text }] : [];
    for (const path of p.attachments) content.push({ type: "file", uri: `file://${resolve(workspace, path)}`, name: path.split("/").pop() });
    const outcome = await this.controller.admit({
      chat: this.chatOf(conversation),
      user: USER,
      updateId: 0,
      messageId: workerMessagePrefix(this.channelId, conversation.id) + p.messageId,
      dedupeKey: key(attempt),
      message: { role: "user", userName: USER.name, time: p.at, content },
    });
    await this.webLog.admitted(conversation.id, p.messageId);
    return outcome.kind === "context" ? "admitted" : outcome.kind;
  }

  /** A path inside the conversation's workspace (symlinks resolved), or a 400/404 saying why not. */
  workspaceFile(conversation: ConversationRecord, path: string, mustExist = true): string {
    const root = realpathSync(this.workspaceDir(conversation));
    if (path.includes("\0")) throw new HttpError(400, "invalid_path", "path: contains a NUL character", "path");
    if (isAbsolute(path)) throw new HttpError(400, "invalid_path", `path: "${path}" must be relative to the workspace`, "path");
    const full = resolve(root, path);
    const lexical = relative(root, full);
    if (lexical.startsWith("..") || isAbsolute(lexical)) throw new HttpError(400, "invalid_path", `path: "${path}" leaves the workspace`, "path");
    // A new file: its nearest existing entry must be inside (a symlink out is caught there). A symlink
    // that leads nowhere counts as existing: writing through it would create its target, wherever that is.
    let existing = full;
    while (!lexists(existing)) {
      if (mustExist) throw new HttpError(404, "not_found", `path: no file "${path}" in the workspace`, "path");
      existing = dirname(existing);
    }
    let real: string;
    try {
      real = realpathSync(existing);
    } catch {
      throw new HttpError(400, "invalid_path", `path: "${path}" goes through a symlink that leads nowhere`, "path");
    }
    const rel = relative(root, real);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new HttpError(400, "invalid_path", `path: "${path}" leaves the workspace`, "path");
    return real === existing ? full : resolve(real, relative(existing, full));
  }

  workspaceDir(conversation: ConversationRecord): string {
    return this.workspaceOf(conversation.id);
  }

  private inLane<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.lanes.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.lanes.set(key, tail);
    void tail.then(() => {
      if (this.lanes.get(key) === tail) this.lanes.delete(key);
    });
    return run;
  }
}

/** Whether `path` names an entry, a dangling symlink included (existsSync follows links). */
function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function unknownModel(model: string, aliases: string[]): HttpError {
  return new HttpError(400, "invalid_model", `model: unknown model "${model}"; configured chat models: ${aliases.join(", ")}`);
}
