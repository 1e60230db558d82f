import { mkdirSync } from "node:fs";
import { Level } from "level";
import { crashPoint, failPoint, nativeJsonBatch, type JsonBatchOp } from "@starling/protocol";
import type { HostCommitPoint } from "../../state/host-store.js";

/** One durable entry of a web conversation: what the page shows and what `/events` replays. */
export interface WebEvent {
  /** Channel-wide, increasing: the SSE id (`Last-Event-ID`) and the paging cursor. */
  id: number;
  conversationId: string;
  at: string;
  /** `user`: a POSTed message; `assistant`: a reply; `notice`: host notices and command answers; `file`: an attachment. */
  kind: "user" | "assistant" | "notice" | "file";
  text: string;
  /** Client message id of a `user` event. */
  messageId?: string;
  /** Workspace-relative path of a `file` event. */
  path?: string;
  buttons?: { text: string; data: string }[][];
  /**
   * On a turn's last reply. `messageIds`: the client message ids of this conversation the turn answered
   * (`[]`: none, e.g. a cron run); absent when the worker did not say (an older worker, or written by an older host).
   */
  turnEnd?: { outcome: "completed" | "failed" | "interrupted"; canContinue: boolean; messageIds?: string[] };
  /** Re-delivered after a crash whose outcome was unknown. */
  possibleDuplicate?: boolean;
}

/** A POSTed message stored before its admission; found at start it is admitted then (admission is idempotent). */
export interface PendingMessage {
  conversationId: string;
  messageId: string;
  text: string;
  attachments: string[];
  at: string;
}

export interface ConversationMeta {
  title: string;
  deleted?: boolean;
}

const pad = (n: number) => String(n).padStart(12, "0");
const K = {
  seq: "seq",
  event: (conv: string, id: number) => `ev:${conv}:${pad(id)}`,
  eventPrefix: (conv: string) => `ev:${conv}:`,
  user: (conv: string, messageId: string) => `user:${conv}:${messageId}`,
  pending: (conv: string, messageId: string) => `pending:${conv}:${messageId}`,
  refused: (conv: string, messageId: string) => `refused:${conv}:${messageId}`,
  moved: (outboxSeq: number) => `moved:${pad(outboxSeq)}`,
  meta: (conv: string) => `meta:${conv}`,
  keyed: (idempotencyKey: string) => `keyed:${idempotencyKey}`,
};

type Batch = JsonBatchOp;

/**
 * The web channel's own LevelDB (DIR/state/web/<channel>): every conversation's events, kept after
 * delivery so a reconnecting page misses nothing, and read in pages (never mirrored in memory, unlike
 * the host store: a conversation may have any number of events). Writes go one at a time.
 */
export class WebLog {
  private chain: Promise<unknown> = Promise.resolve();
  private lastId = 0;
  private constructor(private readonly db: Level<string, unknown>) {}

  static async open(dir: string): Promise<WebLog> {
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, unknown>(dir, { valueEncoding: "json" });
    try {
      await db.open();
    } catch (err) {
      throw new Error(`cannot open the web log at ${dir}: is another starling running with this workdir?`, { cause: err });
    }
    const log = new WebLog(db);
    log.lastId = ((await db.get(K.seq)) as number | undefined) ?? 0;
    return log;
  }

  get latestId(): number {
    return this.lastId;
  }

  private async get<T>(key: string): Promise<T | undefined> {
    return (await this.db.get(key)) as T | undefined;
  }

  /** Serialised: ids are assigned in the batch, so two writes never race for one. */
  private write<T>(point: HostCommitPoint, build: (next: () => number) => { ops: Batch[]; out: T }): Promise<T> {
    const run = async () => {
      let id = this.lastId;
      const { ops, out } = build(() => ++id);
      if (id !== this.lastId) ops.push({ type: "put", key: K.seq, value: id });
      failPoint(point);
      await nativeJsonBatch(this.db, ops, { sync: true });
      this.lastId = id;
      crashPoint(point);
      return out;
    };
    const next = this.chain.then(run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The user event of a client message id, if it was stored. */
  async userEvent(conversationId: string, messageId: string): Promise<number | undefined> {
    return this.get<number>(K.user(conversationId, messageId));
  }

  /** Stores a POSTed message (event + pending admission) in one batch; an id stored before is returned as it is. */
  async storeUser(pending: PendingMessage): Promise<{ eventId: number; stored: boolean }> {
    const known = await this.userEvent(pending.conversationId, pending.messageId);
    if (known !== undefined) return { eventId: known, stored: false };
    return this.write("web_user", (next) => {
      const id = next();
      const event: WebEvent = { id, conversationId: pending.conversationId, at: pending.at, kind: "user", text: pending.text, messageId: pending.messageId };
      if (pending.attachments.length) event.text = [pending.text, ...pending.attachments.map((a) => `[attachment: ${a}]`)].filter(Boolean).join("\n");
      return {
        ops: [
          { type: "put", key: K.event(pending.conversationId, id), value: event },
          { type: "put", key: K.user(pending.conversationId, pending.messageId), value: id },
          { type: "put", key: K.pending(pending.conversationId, pending.messageId), value: pending },
        ],
        out: { eventId: id, stored: true },
      };
    });
  }

  /** Admitted or refused (its outcome is in the host store): no longer pending. */
  async admitted(conversationId: string, messageId: string): Promise<void> {
    await this.db.del(K.pending(conversationId, messageId));
  }

  /**
   * Refusals of this message counted here by 0.12 and before (a refusal is now recorded in the host
   * store's admission batch, AdmitInput.dedupeKey): where the search for its next dedupe key starts.
   */
  async refusals(conversationId: string, messageId: string): Promise<number> {
    return (await this.get<number>(K.refused(conversationId, messageId))) ?? 0;
  }

  /** Stored but not yet admitted (or, for a command, not yet run). */
  async isPending(conversationId: string, messageId: string): Promise<boolean> {
    return (await this.get(K.pending(conversationId, messageId))) !== undefined;
  }

  async pending(): Promise<PendingMessage[]> {
    const out: PendingMessage[] = [];
    for await (const value of this.db.values({ gt: "pending:", lt: "pending;" })) out.push(value as PendingMessage);
    return out;
  }

  /** Moves one outbox item in (idempotent by its outbox seq): the events written, [] when moved before. */
  async appendFromOutbox(outboxSeq: number, events: Omit<WebEvent, "id">[]): Promise<WebEvent[]> {
    if ((await this.get(K.moved(outboxSeq))) !== undefined) return [];
    return this.write("web_event", (next) => {
      const written = events.map((e) => ({ ...e, id: next() }));
      return {
        ops: [
          ...written.map((e): Batch => ({ type: "put", key: K.event(e.conversationId, e.id), value: e })),
          { type: "put", key: K.moved(outboxSeq), value: written.map((e) => e.id) },
        ],
        out: written,
      };
    });
  }

  /** Command answers and other channel-made events (no outbox item behind them). */
  async append(events: Omit<WebEvent, "id">[]): Promise<WebEvent[]> {
    return this.write("web_event", (next) => {
      const written = events.map((e) => ({ ...e, id: next() }));
      return { ops: written.map((e): Batch => ({ type: "put", key: K.event(e.conversationId, e.id), value: e })), out: written };
    });
  }

  /** Events of a conversation with id > `after`, oldest first, at most `limit`. */
  async after(conversationId: string, after: number, limit: number): Promise<WebEvent[]> {
    const prefix = K.eventPrefix(conversationId);
    const out: WebEvent[] = [];
    for await (const value of this.db.values({ gt: prefix + pad(after), lt: `${prefix}~`, limit })) out.push(value as WebEvent);
    return out;
  }

  /** The `limit` events before id `before` (all: Infinity), oldest first. */
  async before(conversationId: string, before: number, limit: number): Promise<WebEvent[]> {
    const prefix = K.eventPrefix(conversationId);
    const lt = Number.isFinite(before) ? prefix + pad(before) : `${prefix}~`;
    const out: WebEvent[] = [];
    for await (const value of this.db.values({ gte: prefix, lt, limit, reverse: true })) out.push(value as WebEvent);
    return out.reverse();
  }

  async meta(conversationId: string): Promise<ConversationMeta | undefined> {
    return this.get<ConversationMeta>(K.meta(conversationId));
  }

  async setMeta(conversationId: string, meta: ConversationMeta): Promise<void> {
    await this.db.put(K.meta(conversationId), meta, { sync: true });
  }

  /** The conversation an OpenAI request with this `Idempotency-Key` and a model alias created. */
  async keyedConversation(idempotencyKey: string): Promise<string | undefined> {
    return this.get<string>(K.keyed(idempotencyKey));
  }

  /** Written once the keyed conversation is complete (model set): a retry then takes it as it is. */
  async setKeyedConversation(idempotencyKey: string, conversationId: string): Promise<void> {
    await this.write("web_keyed", () => ({ ops: [{ type: "put", key: K.keyed(idempotencyKey), value: conversationId }], out: undefined }));
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }
}
