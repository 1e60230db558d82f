import { Level } from "level";
import { mkdirSync } from "node:fs";
import { crashPoint, failPoint } from "@starling/protocol";
import type { ChatRecord, ConversationRecord, InboundItem, OutboundItem } from "./records.js";

/** Named commit points of the host (ARCHITECTURE §5.6). */
export const HOST_CRASH_POINTS = [
  "admit",
  "handoff",
  "event_processed",
  "outbox_attempt",
  "outbox_sent",
  "panel_created",
  "conversation",
  "chat_access",
  /** A part of an album stored with its update id (channels/telegram/album.ts). */
  "album_part",
  /** A host action (host/coordinate) with its recorded outcome, e.g. user_tell's message or a new cron task. */
  "coordinate",
  /** A cron slot: the task's next run moved on and its message admitted (or the skip notice queued). */
  "cron_slot",
  /** A subagent or background agent stopped (subagent_kill, /cancel): marked killed, its pending messages and resume mark dropped. */
  "agent_kill",
  /** The Stellaclaw import (state/import/stellaclaw.json) applied with its "applied" mark (import/stellaclaw-import.ts). */
  "import",
  /** Web channel: a POSTed user message stored in the web log before its admission (channels/web/web-log.ts). */
  "web_user",
  /** Web channel: an outbox item moved into the conversation's durable event log, before the outbox deletes it. */
  "web_event",
] as const;
export type HostCommitPoint = (typeof HOST_CRASH_POINTS)[number];

const pad = (n: number) => String(n).padStart(12, "0");
export const HostKeys = {
  conversation: (id: string) => `conv:${id}`,
  /** A forum topic's conversation is keyed by chat and topic; plain chats keep the original key. */
  chatConversation: (channelId: string, chatId: string, threadId?: number) =>
    `chatconv:${channelId}:${chatId}${threadId === undefined ? "" : `:topic:${threadId}`}`,
  conversationCounter: (channelId: string) => `counter:conv:${channelId}`,
  chat: (channelId: string, chatId: string) => `chat:${channelId}:${chatId}`,
  admins: (channelId: string) => `admins:${channelId}`,
  lastUpdate: (channelId: string) => `update:${channelId}`,
  inbound: (seq: number) => `inbound:${pad(seq)}`,
  /** Admitted messages held until the conversation has a model (several chat models, none picked yet). */
  held: (conversationId: string, seq: number) => `held:${conversationId}:${pad(seq)}`,
  outbound: (seq: number) => `outbound:${pad(seq)}`,
  sessionSeq: (sessionId: string) => `evseq:${sessionId}`,
  autoContinue: (sessionId: string, turnId: number) => `autocont:${sessionId}:${turnId}`,
  panel: (turnKey: string) => `panel:${turnKey}`,
  /** A turn's final panel state, kept until the panel was edited to show it (see EndedTurn). */
  panelEnd: (turnKey: string) => `panelend:${turnKey}`,
  counter: (name: string) => `counter:${name}`,
} as const;

type Op = { type: "put"; key: string; value: unknown } | { type: "del"; key: string };
const DELETED = Symbol("deleted");

/**
 * The writes of one commit. They are visible to reads made while the commit is being built (read your
 * own writes) and reach the in-memory mirror only after the batch is durable: a failed write leaves the
 * mirror exactly as the database is.
 */
export class HostTransaction {
  readonly ops: Op[] = [];
  /** Staged values by key; DELETED marks a staged delete. */
  readonly staged = new Map<string, unknown>();
  readonly committed: (() => void)[] = [];
  constructor(private readonly store: HostStore) {}
  /** Runs `fn` once this batch is durable and visible (e.g. wake the sender of a queued reply). */
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }
  put(key: string, value: unknown): void {
    this.staged.set(key, value);
    this.ops.push({ type: "put", key, value });
  }
  del(key: string): void {
    this.staged.set(key, DELETED);
    this.ops.push({ type: "del", key });
  }
  /** Next value of a durable counter (written in this batch). */
  next(name: string): number {
    const key = HostKeys.counter(name);
    const value = (this.store.get<number>(key) ?? 0) + 1;
    this.put(key, value);
    return value;
  }
}

/**
 * The host's LevelDB (DIR/state/host). The whole database is mirrored in memory (it holds
 * conversations, chats, small queues and counters — a few KB per conversation), so reads are
 * synchronous; every change is one atomic batch through `commit`, fsync'd at named commit points.
 */
export class HostStore {
  readonly cache = new Map<string, unknown>();
  private chain: Promise<unknown> = Promise.resolve();
  private building: HostTransaction | null = null;

  private constructor(private readonly db: Level<string, unknown>) {}

  static async open(dir: string): Promise<HostStore> {
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, unknown>(dir, { valueEncoding: "json" });
    try {
      await db.open();
    } catch (err) {
      throw new Error(`cannot open the host database at ${dir}: is another starling running with this workdir?`, { cause: err });
    }
    const store = new HostStore(db);
    for await (const [key, value] of db.iterator()) store.cache.set(key, value);
    return store;
  }

  get<T>(key: string): T | undefined {
    const staged = this.building?.staged;
    if (staged?.has(key)) {
      const value = staged.get(key);
      return value === DELETED ? undefined : (value as T);
    }
    return this.cache.get(key) as T | undefined;
  }

  /** Values of every key starting with `prefix`, in key order. */
  list<T>(prefix: string): T[] {
    const found = new Map<string, unknown>();
    for (const [key, value] of this.cache) if (key.startsWith(prefix)) found.set(key, value);
    for (const [key, value] of this.building?.staged ?? []) {
      if (!key.startsWith(prefix)) continue;
      if (value === DELETED) found.delete(key);
      else found.set(key, value);
    }
    return [...found].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, v]) => v as T);
  }

  commit<T>(point: HostCommitPoint | null, build: (tx: HostTransaction) => T): Promise<T> {
    const run = async () => {
      const tx = new HostTransaction(this);
      // Reads inside `build` (synchronous) see its staged writes; nobody else does until the batch is durable.
      this.building = tx;
      let out: T;
      try {
        out = build(tx);
      } finally {
        this.building = null;
      }
      if (tx.ops.length) {
        if (point) failPoint(point);
        await this.db.batch(tx.ops, { sync: point !== null });
        for (const [key, value] of tx.staged) {
          if (value === DELETED) this.cache.delete(key);
          else this.cache.set(key, value);
        }
        if (point) crashPoint(point);
      }
      for (const fn of tx.committed) fn();
      return out;
    };
    const next = this.chain.then(run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  // Typed views over the mirror.
  conversation(id: string): ConversationRecord | undefined {
    return this.get(HostKeys.conversation(id));
  }
  conversationOfChat(channelId: string, chatId: string, threadId?: number): ConversationRecord | undefined {
    const id = this.get<string>(HostKeys.chatConversation(channelId, chatId, threadId));
    return id ? this.conversation(id) : undefined;
  }
  conversations(): ConversationRecord[] {
    return this.list<ConversationRecord>("conv:");
  }
  chat(channelId: string, chatId: string): ChatRecord | undefined {
    return this.get(HostKeys.chat(channelId, chatId));
  }
  chats(channelId: string): ChatRecord[] {
    return this.list<ChatRecord>(`chat:${channelId}:`);
  }
  admins(channelId: string): string[] {
    return this.get<string[]>(HostKeys.admins(channelId)) ?? [];
  }
  inbound(): InboundItem[] {
    return this.list<InboundItem>("inbound:");
  }
  outbound(): OutboundItem[] {
    return this.list<OutboundItem>("outbound:");
  }
  lastUpdateId(channelId: string): number {
    return this.get<number>(HostKeys.lastUpdate(channelId)) ?? 0;
  }
  processedSeq(sessionId: string): number {
    return this.get<number>(HostKeys.sessionSeq(sessionId)) ?? 0;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }
}
