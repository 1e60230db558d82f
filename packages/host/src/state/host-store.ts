import { Level } from "level";
import { mkdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { crashPoint, failPoint, nativeJsonBatch, stallPoint, type JsonBatchOp } from "@starling/protocol";
import { KeyIndex } from "./key-index.js";
import { InboundIndex, OutboundIndex } from "./item-indexes.js";
import type { ChatRecord, ConversationRecord, InboundItem, OutboundItem } from "./records.js";
import type { StoreHealth } from "./store-health.js";

/** Named commit points of the host (ARCHITECTURE §5.6). */
export const HOST_CRASH_POINTS = [
  "admit",
  "handoff",
  "event_processed",
  "outbox_attempt",
  "outbox_sent",
  /** Telegram: a message of a reply split for the length limit accepted, more to follow: how many went out, the attempt mark cleared (channels/telegram/outbox-sender.ts). */
  "outbox_part",
  "panel_created",
  "conversation",
  "chat_access",
  /** Telegram: a conversation command stored with its update id before it runs off the poller (channels/telegram/pending-commands.ts). */
  "command_pending",
  /** Telegram: an update of a chat whose command (or press) is not answered yet, stored with its update id to be admitted after it (channels/telegram/pending-commands.ts). */
  "update_held",
  /** Telegram: a pending command's reply queued in the outbox in the batch that deletes the pending record (channels/telegram/pending-commands.ts). */
  "command_reply",
  /** A held message's inbound files downloaded (or failed) and stored in it; ready held messages released (conversations/held-items.ts). */
  "inbound_files",
  /** A user's edit of a message the bot admitted: the waiting item's text replaced, or the edit admitted as a new input (conversations/message-edits.ts). */
  "edit",
  /** A part of an album stored with its update id (channels/telegram/album.ts). */
  "album_part",
  /** An edit of an album part still being collected: the stored part replaced, with the edit's update id (channels/telegram/album.ts). */
  "album_part_edit",
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
  /** Web channel: the conversation a `/v1` request with an `Idempotency-Key` and a model alias created, recorded once it is complete (channels/web/web-conversations.ts). */
  "web_keyed",
  /** Start: this machine's boot id stored; after a reboot every outbox item marked a possible duplicate (state/boot.ts). */
  "boot",
  /** A user's /cancel: the running turn (or a continue still waiting) marked cancelled before the worker is asked (sessions/user-intent.ts). */
  "user_cancel",
  /** A user's /continue stored (and the session's resume mark) before the user is answered; a restarted host sends it (sessions/user-intent.ts). */
  "user_continue",
  /** A worker start resumes a recovered turn reported in an earlier life: its automatic-continue counter stored before the continue is sent (sessions/start-reconcile.ts). */
  "auto_continue",
  /** A worker start found a recovered turn with its automatic continues used up: the "send /continue" notice queued with its once-per-turn mark (sessions/start-reconcile.ts). */
  "continue_offer",
  /** The session's resume mark stored before a `session/continue` is sent, so a host restart brings the session back (sessions/recovery.ts). */
  "resume_mark",
  /** A session gave up restarting its worker: the user's stored /continue dropped and the give-up notice queued, in one batch (sessions/session-runner.ts). */
  "giveup",
  /** A worker start found a hidden path leading to a real path not remembered yet: stored before the launch uses it (security/hidden-path-ledger.ts). */
  "hidden_paths",
  /** A worker answered the `initialize` that carried the session's seed history (the Stellaclaw import's): the record deleted (sessions/seed-history.ts). */
  "seed_delivered",
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
  /** A Telegram conversation command admitted (its update id committed) and not answered yet (channels/telegram/pending-commands.ts). */
  pendingCommands: (channelId: string) => `cmdpending:${channelId}:`,
  pendingCommand: (channelId: string, updateId: number) => `cmdpending:${channelId}:${pad(updateId)}`,
  inbound: (seq: number) => `inbound:${pad(seq)}`,
  /** Admitted messages held until the conversation has a model (several chat models, none picked yet) or their files are downloaded. */
  held: (conversationId: string, seq: number) => `held:${conversationId}:${pad(seq)}`,
  outbound: (seq: number) => `outbound:${pad(seq)}`,
  /** A channel message the bot admitted, by the channel's id for it (chat and message id): found again when the user edits it. */
  source: (channelId: string, chatId: string, sourceId: number) => `msgsrc:${channelId}:${chatId}:${pad(sourceId)}`,
  sessionSeq: (sessionId: string) => `evseq:${sessionId}`,
  autoContinue: (sessionId: string, turnId: number) => `autocont:${sessionId}:${turnId}`,
  panel: (turnKey: string) => `panel:${turnKey}`,
  /** A turn's final panel state, kept until the panel was edited to show it (see EndedTurn). */
  panelEnd: (turnKey: string) => `panelend:${turnKey}`,
  counter: (name: string) => `counter:${name}`,
  /** A chat's recent Telegram send times, stored with each delivered outbox item (channels/telegram/send-history.ts). */
  sendTimes: (channelId: string, chatId: string) => `sendtimes:${channelId}:${chatId}`,
  /** The boot id of the machine the host last started on (state/boot.ts). */
  boot: () => "host:boot",
  /** History a session's first worker starts with (`initialize.seedHistory`), until a worker has answered `initialize` with it (sessions/seed-history.ts). */
  seedHistory: (sessionId: string) => `seedhistory:${sessionId}`,
  /** The real paths a hidden path led to at worker starts (security/hidden-path-ledger.ts). */
  hiddenReals: (listed: string) => `hiddenreal:${listed}`,
} as const;

/**
 * Commit points written without their own fsync. A process crash never loses such a write (it reached
 * the OS before the commit resolved) and the next synced batch flushes LevelDB's log with it; only a
 * power failure before that can drop it, and losing it is repaired by design. `handoff`: the inbound
 * item comes back and is re-sent, and the worker drops it as a duplicate by its messageId (§5.2).
 * `outbox_attempt`, `outbox_sent`, `outbox_part`: a power failure implies a reboot, and after one `boot` marks every
 * item still in the outbox a possible duplicate, so a send whose record was lost is re-sent labelled.
 */
const UNSYNCED_POINTS: ReadonlySet<HostCommitPoint> = new Set(["handoff", "outbox_attempt", "outbox_sent", "outbox_part"]);

const DELETED = Symbol("deleted");

/** One key a durable commit changed: its new value, or undefined when it was deleted. */
export interface CommitChange {
  key: string;
  value: unknown;
}
/** Called once per durable commit that changed keys under the subscribed prefix (see `HostStore.subscribe`). */
export type CommitListener = (changes: CommitChange[]) => void;

/**
 * The writes of one commit. They are visible to reads made while the commit is being built (read your
 * own writes) and reach the in-memory mirror only after the batch is durable: a failed write leaves the
 * mirror exactly as the database is.
 */
export class HostTransaction {
  readonly ops: JsonBatchOp[] = [];
  /** Staged values by key; DELETED marks a staged delete. */
  readonly staged = new Map<string, unknown>();
  readonly committed: (() => void)[] = [];
  /** In-flight commits whose staged values this one's build read: it is durable only if they are. */
  readonly readFrom = new Set<HostTransaction>();
  /** In-flight commits that wrote a key this one writes too: its batch goes to the database after theirs. */
  readonly after = new Set<HostTransaction>();
  /** Settles (never rejects) once this commit's batch succeeded (true) or failed (false). */
  settled: Promise<boolean> = Promise.resolve(true);
  constructor(private readonly store: HostStore) {}
  /** Runs `fn` once this batch is durable and visible (e.g. wake the sender of a queued reply). */
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }
  put(key: string, value: unknown): void {
    this.store.noteWrite(this, key);
    this.staged.set(key, value);
    this.ops.push({ type: "put", key, value });
  }
  del(key: string): void {
    this.store.noteWrite(this, key);
    this.staged.set(key, DELETED);
    this.ops.push({ type: "del", key });
  }
  /**
   * Next value of a durable counter (written in this batch). Counter values are reserved in memory, so
   * concurrent commits never hand out the same value and do not depend on each other's success (a failed
   * commit leaves a gap); their batches are still written in order.
   */
  next(name: string): number {
    const key = HostKeys.counter(name);
    const own = this.staged.get(key);
    const value = typeof own === "number" ? own + 1 : this.store.reserveCounter(key);
    this.put(key, value);
    return value;
  }
}

/**
 * Keys whose values stay on disk: the mirror holds the key and ON_DISK, `get` answers undefined, `has` true, and
 * `readFromDisk` the value. A Stellaclaw import's carried history (`seedhistory:`) is up to ~0.5 MB a conversation,
 * read once at the session's first worker start; a host that kept every imported one in memory (a conversation that is
 * never used again keeps its seed) would grow with the import.
 */
const ON_DISK_PREFIXES = ["seedhistory:"];
const ON_DISK = Symbol("value on disk");
const onDisk = (key: string): boolean => ON_DISK_PREFIXES.some((prefix) => key.startsWith(prefix));

/**
 * The host's LevelDB (DIR/state/host). The whole database is mirrored in memory (it holds
 * conversations, chats, small queues and counters — a few KB per conversation; a few big values stay on disk,
 * ON_DISK_PREFIXES), so reads are synchronous; every change is one atomic batch through `commit`, fsync'd at named commit points.
 *
 * Commits run concurrently: a commit waits only for in-flight commits it depends on (it read their
 * staged writes, or writes a key they write), so LevelDB can group independent sync writes. Readers
 * outside a commit's build see only durable values.
 */
export class HostStore {
  readonly cache = new Map<string, unknown>();
  private readonly index = new KeyIndex();
  /** Commits whose batch is not settled yet, in build order. */
  private readonly inFlight = new Set<HostTransaction>();
  /** The latest in-flight commit writing each key. */
  private readonly writer = new Map<string, HostTransaction>();
  private readonly counters = new Map<string, number>();
  private readonly inboundBySession = new InboundIndex();
  /** Keys of the durable `outbound:` items by channel and chat. */
  private readonly outboundByChat = new OutboundIndex();
  private building: HostTransaction | null = null;
  /** Every commit not yet settled (built or not), so `close` waits for them all. */
  private readonly open = new Set<Promise<unknown>>();
  private readonly listeners: { prefix: string; fn: CommitListener }[] = [];
  /** Notes failing, recovering and slow writes (a dead or stalled disk is reported, state/store-health.ts). */
  health: StoreHealth | null = null;
  /** Test-only (STARLING_STALL_AT): writes wait until then, as behind a stalled disk. */
  private stalledUntil = 0;

  private constructor(private readonly db: Level<string, unknown>) {}

  static async open(dir: string): Promise<HostStore> {
    mkdirSync(dir, { recursive: true });
    // Every read is served from the in-memory mirror, so LevelDB's block cache only fills during the
    // start-up scan; a 1 MB memtable instead of 4 MB keeps the host's memory flat under a flood of writes.
    const db = new Level<string, unknown>(dir, { valueEncoding: "json", cacheSize: 1 << 20, writeBufferSize: 1 << 20 });
    try {
      await db.open();
    } catch (err) {
      throw new Error(`cannot open the host database at ${dir}: is another starling running with this workdir?`, { cause: err });
    }
    const store = new HostStore(db);
    for await (const [key, value] of db.iterator({ fillCache: false })) store.apply(key, value);
    return store;
  }

  get<T>(key: string): T | undefined {
    const tx = this.building;
    if (tx) {
      const value = this.staged(tx, key);
      if (value !== undefined) return value === DELETED ? undefined : (value as T);
    }
    const value = this.cache.get(key);
    return value === ON_DISK ? undefined : (value as T | undefined);
  }

  /** The key is stored (durably, or staged by the commit being built): also for a value kept on disk. */
  has(key: string): boolean {
    const tx = this.building;
    const value = tx ? this.staged(tx, key) : undefined;
    return value !== undefined ? value !== DELETED : this.cache.has(key);
  }

  /** The durable value of a key kept on disk (ON_DISK_PREFIXES); undefined when it is not stored. */
  async readFromDisk<T>(key: string): Promise<T | undefined> {
    if (!onDisk(key)) throw new Error(`${key} is not kept on disk: read it with get()`);
    if (!this.cache.has(key)) return undefined;
    return (await this.db.get(key)) as T | undefined;
  }

  /** Values of every key starting with `prefix`, in key order. */
  list<T>(prefix: string): T[] {
    if (ON_DISK_PREFIXES.some((kept) => kept.startsWith(prefix) || prefix.startsWith(kept))) throw new Error(`values under ${prefix} are kept on disk: list() cannot give them`);
    const tx = this.building;
    const keys = this.index.keysWithPrefix(prefix);
    if (!tx) return keys.map((key) => this.cache.get(key) as T);
    const found = new Map<string, unknown>(keys.map((key) => [key, this.cache.get(key)]));
    let changed = false;
    for (const layer of [...this.inFlight, tx]) {
      for (const [key, value] of layer.staged) {
        if (!key.startsWith(prefix)) continue;
        if (layer !== tx) tx.readFrom.add(layer);
        changed = true;
        if (value === DELETED) found.delete(key);
        else found.set(key, value);
      }
    }
    if (!changed) return [...found.values()] as T[];
    return [...found].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, v]) => v as T);
  }

  /** How many keys start with `prefix`, as `list(prefix).length` but without reading the values. */
  count(prefix: string): number {
    const tx = this.building;
    let n = this.index.count(prefix);
    if (!tx) return n;
    const present = new Map<string, boolean>();
    for (const layer of [...this.inFlight, tx]) {
      for (const [key, value] of layer.staged) {
        if (!key.startsWith(prefix)) continue;
        if (layer !== tx) tx.readFrom.add(layer);
        present.set(key, value !== DELETED);
      }
    }
    for (const [key, now] of present) n += Number(now) - Number(this.cache.has(key));
    return n;
  }

  /** @internal HostTransaction: a write after an in-flight write of the same key is ordered after it. */
  noteWrite(tx: HostTransaction, key: string): void {
    const earlier = this.writer.get(key);
    if (earlier && earlier !== tx) tx.after.add(earlier);
  }

  /** @internal HostTransaction.next: the next unused value of a counter. */
  reserveCounter(key: string): number {
    const num = (v: unknown) => (typeof v === "number" ? v : 0);
    const value = Math.max(num(this.cache.get(key)), num(this.writer.get(key)?.staged.get(key)), this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, value);
    return value;
  }

  /**
   * `fn` runs after every durable commit that changed keys starting with `prefix` (the stages react to
   * commits: `inbound:` wakes the item's session, `outbound:` the item's channel), before the commit's
   * `afterCommit` callbacks and before its caller resumes. Returns the unsubscribe function.
   */
  subscribe(prefix: string, fn: CommitListener): () => void {
    const entry = { prefix, fn };
    this.listeners.push(entry);
    return () => {
      const at = this.listeners.indexOf(entry);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  commit<T>(point: HostCommitPoint | null, build: (tx: HostTransaction) => T): Promise<T> {
    // The build runs in a microtask, as it did behind the old global chain: callers may set state after calling.
    const done = Promise.resolve().then(() => this.run(point, build));
    this.open.add(done);
    void done.then(
      () => this.open.delete(done),
      () => this.open.delete(done),
    );
    return done;
  }

  private async run<T>(point: HostCommitPoint | null, build: (tx: HostTransaction) => T): Promise<T> {
    const tx = new HostTransaction(this);
    // Reads inside `build` (synchronous) see its staged writes and those of in-flight commits; nobody
    // else sees them until the batch is durable.
    this.building = tx;
    let out: T;
    try {
      out = build(tx);
    } finally {
      this.building = null;
    }
    if (!tx.ops.length) {
      await this.dependenciesDurable(tx);
      for (const fn of tx.committed) fn();
      return out;
    }
    try {
      if (point) failPoint(point);
    } catch (err) {
      this.health?.failed(point, err);
      throw err;
    }
    const write = this.write(tx, point);
    void write.then(
      () => this.health?.succeeded(point),
      (err: unknown) => this.health?.failed(point, err),
    );
    tx.settled = write.then(
      () => true,
      () => false,
    );
    this.inFlight.add(tx);
    for (const key of tx.staged.keys()) this.writer.set(key, tx);
    const watched = this.health?.writeStarted(point);
    try {
      await write;
    } finally {
      if (watched !== undefined) this.health?.writeEnded(watched);
      this.inFlight.delete(tx);
      for (const key of tx.staged.keys()) if (this.writer.get(key) === tx) this.writer.delete(key);
    }
    if (point) crashPoint(point);
    this.notify(tx);
    for (const fn of tx.committed) fn();
    return out;
  }

  /** A listener that throws does not undo the (durable) commit; the error is reported as a process warning. */
  private notify(tx: HostTransaction): void {
    for (const { prefix, fn } of [...this.listeners]) {
      const changes: CommitChange[] = [];
      for (const [key, value] of tx.staged) if (key.startsWith(prefix)) changes.push({ key, value: value === DELETED ? undefined : value });
      if (!changes.length) continue;
      try {
        fn(changes);
      } catch (err) {
        process.emitWarning(`a HostStore commit listener for "${prefix}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private async write(tx: HostTransaction, point: HostCommitPoint | null): Promise<void> {
    await Promise.all([...tx.after].map((t) => t.settled));
    await this.dependenciesDurable(tx);
    const stall = point ? stallPoint(point) : 0;
    if (stall || this.stalledUntil) await this.stalled(stall);
    await nativeJsonBatch(this.db, tx.ops, { sync: point !== null && !UNSYNCED_POINTS.has(point) });
    for (const [key, value] of tx.staged) this.apply(key, value);
  }

  /** Test-only (STARLING_STALL_AT): this write waits `ms`, and every write meanwhile waits with it (LevelDB writes one batch at a time). */
  private async stalled(ms: number): Promise<void> {
    if (ms) this.stalledUntil = Math.max(this.stalledUntil, Date.now() + ms);
    const left = this.stalledUntil - Date.now();
    if (left > 0) await sleep(left);
    else this.stalledUntil = 0;
  }

  private async dependenciesDurable(tx: HostTransaction): Promise<void> {
    for (const dep of tx.readFrom) {
      if (!(await dep.settled)) throw new Error("a commit this one read from failed to write; nothing of this commit was written either");
    }
  }

  /** A staged value of the building commit or of an in-flight one (recording the dependency), else undefined. */
  private staged(tx: HostTransaction, key: string): unknown {
    if (tx.staged.has(key)) return tx.staged.get(key);
    const writer = this.writer.get(key);
    if (!writer) return undefined;
    tx.readFrom.add(writer);
    return writer.staged.get(key);
  }

  private apply(key: string, value: unknown): void {
    const after = value === DELETED ? undefined : value;
    if (key.startsWith("inbound:")) this.inboundBySession.change(key, this.cache.get(key) as InboundItem | undefined, after as InboundItem | undefined);
    else if (key.startsWith("outbound:")) this.outboundByChat.change(key, this.cache.get(key) as OutboundItem | undefined, after as OutboundItem | undefined);
    if (value === DELETED) {
      this.cache.delete(key);
      this.index.delete(key);
    } else {
      if (!this.cache.has(key)) this.index.add(key);
      this.cache.set(key, onDisk(key) ? ON_DISK : value);
    }
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
  /** Stored inbound items of one session, oldest first (durable ones; inside a build, with staged changes). */
  inboundOf(sessionId: string): InboundItem[] {
    if (this.building) return this.inbound().filter((item) => item.sessionId === sessionId);
    return this.inboundBySession.keysOf(sessionId).map((key) => this.cache.get(key) as InboundItem);
  }
  /** Session ids with stored inbound items (durable). */
  sessionsWithInbound(): string[] {
    return this.inboundBySession.sessions();
  }
  outbound(): OutboundItem[] {
    return this.list<OutboundItem>("outbound:");
  }
  /** Durable outbox items of one channel in seq order (inside a build, with staged changes). */
  outboundOf(channelId: string): OutboundItem[] {
    if (this.building) return this.outbound().filter((item) => item.channelId === channelId);
    return this.outboundByChat.keysOfChannel(channelId).map((key) => this.cache.get(key) as OutboundItem);
  }
  /** Chats of a channel with durable outbox items, the one waiting longest first. */
  outboundChats(channelId: string): string[] {
    return this.outboundByChat.chats(channelId);
  }
  /** A chat's oldest durable outbox item. */
  nextOutbound(channelId: string, chatId: string): OutboundItem | undefined {
    const key = this.outboundByChat.firstKey(channelId, chatId);
    return key === undefined ? undefined : (this.cache.get(key) as OutboundItem);
  }
  lastUpdateId(channelId: string): number {
    return this.get<number>(HostKeys.lastUpdate(channelId)) ?? 0;
  }
  processedSeq(sessionId: string): number {
    return this.get<number>(HostKeys.sessionSeq(sessionId)) ?? 0;
  }

  async close(): Promise<void> {
    while (this.open.size) await Promise.allSettled([...this.open]);
    await this.db.close();
  }
}
