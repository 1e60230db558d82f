import { Level } from "level";
import { crashPoint, failAfterWritePoint, failPoint, isDurableEvent, WORKER_CRASH_POINTS, type WorkerCrashPoint, type SessionEvent, type TranscriptMessage } from "@starling/protocol";
import { Keys, prefixRange } from "./keys.js";
import {
  initialMeta,
  type CompactionRecord,
  type LearnedWindow,
  type RefusedUrlRecord,
  type OutboxEntry,
  type QueuedInput,
  type SessionMeta,
  type ToolIntent,
  type TurnRecord,
} from "./records.js";
import { StoreLockedError } from "./errors.js";
import { makeFolder } from "./make-folder.js";
import { directBatches } from "./direct-batch.js";

/** Named commit points (ARCHITECTURE §5.6), defined in the protocol so hosts can list them. */
export { WORKER_CRASH_POINTS };
export type CommitPoint = WorkerCrashPoint;

/**
 * Commit points written without their own fsync: a process crash never loses them (the write reached the
 * OS) and the next synced batch flushes the log with them; a power failure before that can drop one, and
 * that is repaired by design. `ack_events`: the events come back on the next connection and the host
 * skips them by their seq (it records the last processed seq in its own synced batch). `turn_start`:
 * nothing acts on a started turn before a synced batch follows (the model's answer, an intent, the
 * turn's end); losing it leaves the journal as after `enqueue` (the inputs queued, no turn), so the turn
 * starts again with the same id, and its `turn_started` may reuse a seq the host already processed —
 * the host skips it as a duplicate of the one it has.
 */
const UNSYNCED_POINTS: ReadonlySet<CommitPoint> = new Set(["ack_events", "turn_start"]);

type Op = { type: "put"; key: string; value: unknown } | { type: "del"; key: string };

/**
 * What the store uses of its database: LevelDB (`level`) on disk; any abstract-level database with
 * string keys and JSON values fits (an in-memory `memory-level` one holds nothing durable).
 */
export interface SessionDb {
  readonly status: string;
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  batch(operations: Op[], options: { sync: boolean }): Promise<void>;
  keys(range: StoreRange): AsyncIterable<string>;
  values(range: StoreRange): AsyncIterable<unknown>;
  close(): Promise<void>;
}
type StoreRange = { gte: string; lt: string; reverse?: boolean; limit?: number; fillCache?: boolean };

/**
 * Mutations of one commit batch. Each method updates the in-memory mirror and records the write; if
 * the batch then fails, `SessionStore.commit` puts the mirror back as it was.
 */
export class Transaction {
  readonly ops: Op[] = [];
  readonly events: OutboxEntry[] = [];
  constructor(private readonly store: SessionStore) {}

  appendMessage(message: Omit<TranscriptMessage, "index">): TranscriptMessage {
    const full = { ...message, index: this.store.meta.nextMessageIndex++ } as TranscriptMessage;
    this.store.messages.push(full);
    this.ops.push({ type: "put", key: Keys.message(full.index), value: full });
    return full;
  }
  enqueue(input: Omit<QueuedInput, "queueId">): QueuedInput {
    const queued = { ...input, queueId: this.store.meta.nextQueueId++ };
    this.store.queue.push(queued);
    this.ops.push({ type: "put", key: Keys.queue(queued.queueId), value: queued });
    this.ops.push({ type: "put", key: Keys.inbox(input.messageId), value: { queueId: queued.queueId } });
    return queued;
  }
  /** Removes every queued input and returns them (a new turn takes them all). */
  takeQueue(): QueuedInput[] {
    const taken = this.store.queue.splice(0);
    for (const q of taken) this.ops.push({ type: "del", key: Keys.queue(q.queueId) });
    return taken;
  }
  putTurn(turn: TurnRecord): void {
    this.store.lastTurn = turn;
    this.ops.push({ type: "put", key: Keys.turn(turn.turnId), value: turn });
  }
  putIntent(intent: ToolIntent): void {
    this.store.intents.set(intent.callId, intent);
    this.ops.push({ type: "put", key: Keys.intent(intent.callId), value: intent });
  }
  deleteIntent(callId: string): void {
    if (!this.store.intents.delete(callId)) return;
    this.ops.push({ type: "del", key: Keys.intent(callId) });
  }
  setCompaction(record: CompactionRecord): void {
    this.store.compaction = record;
    this.ops.push({ type: "put", key: Keys.compaction, value: record });
  }
  /** Copy on write: the mirror snapshot before each commit keeps the old map by reference. */
  setLearnedWindow(model: string, window: number): void {
    this.store.learnedWindows = new Map(this.store.learnedWindows).set(model, window);
    const record: LearnedWindow = { model, window, learnedAt: new Date().toISOString() };
    this.ops.push({ type: "put", key: Keys.learnedWindow(model), value: record });
  }
  dropLearnedWindow(model: string): void {
    if (!this.store.learnedWindows.has(model)) return;
    const windows = new Map(this.store.learnedWindows);
    windows.delete(model);
    this.store.learnedWindows = windows;
    this.ops.push({ type: "del", key: Keys.learnedWindow(model) });
  }
  /** Copy on write, as setLearnedWindow. */
  setRefusedUrl(url: string, reason: string): void {
    this.store.refusedUrls = new Map(this.store.refusedUrls).set(url, reason);
    const record: RefusedUrlRecord = { url, reason, refusedAt: new Date().toISOString() };
    this.ops.push({ type: "put", key: Keys.refusedUrl(url), value: record });
  }
  /** Assigns the next seq. Durable events also go to the outbox until acknowledged. */
  emit(event: SessionEvent): number {
    const seq = this.store.meta.nextSeq++;
    if (isDurableEvent(event)) this.ops.push({ type: "put", key: Keys.outbox(seq), value: { seq, event } });
    this.events.push({ seq, event });
    return seq;
  }
  acknowledge(upTo: number): void {
    const meta = this.store.meta;
    const from = meta.lastAckedSeq + 1;
    const to = Math.min(upTo, meta.nextSeq - 1);
    for (let seq = from; seq <= to; seq++) this.ops.push({ type: "del", key: Keys.outbox(seq) });
    if (to > meta.lastAckedSeq) meta.lastAckedSeq = to;
  }
}

/** A copy of the counters a commit may change (cheaper than structuredClone on every commit). */
function cloneMeta(meta: SessionMeta): SessionMeta {
  return { ...meta, usage: { ...meta.usage }, lastTurnUsage: meta.lastTurnUsage ? { ...meta.lastTurnUsage } : null };
}

/** The in-memory state a commit may change, taken before it so a failed write can be undone. */
interface MirrorSnapshot {
  meta: SessionMeta;
  messageCount: number;
  queue: QueuedInput[];
  lastTurn: TurnRecord | null;
  intents: Map<string, ToolIntent>;
  compaction: CompactionRecord | null;
  learnedWindows: ReadonlyMap<string, number>;
  refusedUrls: ReadonlyMap<string, string>;
}

export type EventListener = (entry: OutboxEntry) => void;

/**
 * A failed batch write: `willRetry` says whether it is tried again after `delayMs`. `fatal`: the
 * database was reopened after a write error and holds a batch this process was told had failed, so
 * its memory no longer matches the journal; the store refuses every later write (restart the process).
 */
export interface WriteError {
  point: CommitPoint | null;
  attempt: number;
  willRetry: boolean;
  delayMs: number;
  err: unknown;
  fatal?: boolean;
}
export type WriteErrorListener = (failure: WriteError) => void;

/** How often a failed batch write is tried in all, and the first delay (doubled per attempt). */
export interface WriteRetryPolicy {
  attempts: number;
  initialDelayMs: number;
}
/** 4 attempts over ~0.7 s: a transient disk error is ridden out before any turn fails because of it. */
export const DEFAULT_WRITE_RETRY: WriteRetryPolicy = { attempts: 4, initialDelayMs: 100 };

/**
 * LevelDB's own I/O error (disk full, EIO). After one, that database object is not written again: a
 * write cut off in its log leaves a partial record, and on the next open LevelDB drops the rest of that
 * log block, taking writes acknowledged after it (seen on a full tmpfs); a failed compaction makes
 * every later write fail. Reopening replays the log up to the cut and starts a new one.
 */
function isLevelIoError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "LEVEL_IO_ERROR";
}

/** The store's memory no longer matches its journal (see WriteError.fatal). */
class StoreDivergedError extends Error {}

/** `build` itself threw (a bug or a refused operation): never retried, the mirror is put back. */
class BuildError extends Error {
  constructor(override readonly cause: unknown) {
    super("commit build failed");
  }
}

/**
 * The session's durable journal on LevelDB, owned by exactly one worker process. Every change goes
 * through `commit`, which serialises writes, applies them as one atomic batch (sync for commit points)
 * and only then hands the batch's events to the listener — so nothing is announced before it is stored.
 */
export class SessionStore {
  meta: SessionMeta = initialMeta();
  messages: TranscriptMessage[] = [];
  queue: QueuedInput[] = [];
  lastTurn: TurnRecord | null = null;
  intents = new Map<string, ToolIntent>();
  compaction: CompactionRecord | null = null;
  /** Context windows learned from refusals, by model (records.ts LearnedWindow). Replaced, never changed in place. */
  learnedWindows: ReadonlyMap<string, number> = new Map();
  /** Files given by URL the provider refused: URL to the refusal (records.ts RefusedUrlRecord). Replaced, never changed in place. */
  refusedUrls: ReadonlyMap<string, string> = new Map();
  private inbox = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Ephemeral events took seqs that no batch has stored yet. */
  private metaUnstored = false;
  /** `close()` was called: later commits are refused, so nothing is announced after the counters' last write. */
  private closing = false;
  private listener: EventListener = () => undefined;
  private writeErrorListener: WriteErrorListener = () => undefined;
  /** A write failed with LevelDB's I/O error: the database is reopened before the next write. */
  private reopenNeeded = false;
  private diverged: Error | null = null;
  /** The counters as last stored (every batch stores them): after a reopen the journal must hold exactly these. */
  private storedMeta: SessionMeta | undefined;

  private constructor(
    private db: SessionDb,
    private readonly retry: WriteRetryPolicy,
    private readonly reopen: (() => Promise<SessionDb>) | null = null,
  ) {}

  static async open(dir: string, retry: WriteRetryPolicy = DEFAULT_WRITE_RETRY): Promise<SessionStore> {
    // A session folder made just now holds no journal to read (the reads of `load` cost a new
    // session's worker ~3 ms of CPU at start).
    const fresh = makeFolder(dir);
    const reopen = () => openLevel(dir);
    const direct = await reopen();
    return fresh ? new SessionStore(direct, retry, reopen) : SessionStore.openOn(direct, retry, reopen);
  }

  /** A store on an opened database (`open` above for the session's LevelDB; `memory-level` for one that keeps nothing). */
  static async openOn(db: SessionDb, retry: WriteRetryPolicy = DEFAULT_WRITE_RETRY, reopen: (() => Promise<SessionDb>) | null = null): Promise<SessionStore> {
    const store = new SessionStore(db, retry, reopen);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    const meta = (await this.db.get(Keys.meta)) as SessionMeta | undefined;
    this.storedMeta = meta;
    if (meta) this.meta = meta;
    this.compaction = ((await this.db.get(Keys.compaction)) as CompactionRecord | undefined) ?? null;
    for await (const value of this.db.values({ ...prefixRange(Keys.messagePrefix), fillCache: false })) {
      this.messages.push(value as TranscriptMessage);
    }
    for await (const value of this.db.values(prefixRange(Keys.queuePrefix))) this.queue.push(value as QueuedInput);
    for await (const key of this.db.keys(prefixRange(Keys.inboxPrefix))) this.inbox.add(key.slice(Keys.inboxPrefix.length));
    for await (const value of this.db.values({ ...prefixRange(Keys.turnPrefix), reverse: true, limit: 1 })) {
      this.lastTurn = value as TurnRecord;
    }
    const windows = new Map<string, number>();
    for await (const value of this.db.values(prefixRange(Keys.learnedWindowPrefix))) {
      const learned = value as LearnedWindow;
      windows.set(learned.model, learned.window);
    }
    this.learnedWindows = windows;
    const refused = new Map<string, string>();
    for await (const value of this.db.values(prefixRange(Keys.refusedUrlPrefix))) {
      const record = value as RefusedUrlRecord;
      refused.set(record.url, record.reason);
    }
    this.refusedUrls = refused;
    for await (const value of this.db.values(prefixRange(Keys.intentPrefix))) {
      const intent = value as ToolIntent;
      this.intents.set(intent.callId, intent);
    }
  }

  onEvent(listener: EventListener): void {
    this.listener = listener;
  }

  /** Has this messageId been accepted before (queued or already answered)? */
  async seen(messageId: string): Promise<boolean> {
    // Every accepted id is in memory (loaded at open, added after each durable enqueue): no read per message.
    return this.inbox.has(messageId);
  }

  /** Synchronous form of `seen` for use inside a commit. */
  knows(messageId: string): boolean {
    return this.inbox.has(messageId);
  }

  /** Called for every failed batch write, before it is retried (or given up on). */
  onWriteError(listener: WriteErrorListener): void {
    this.writeErrorListener = listener;
  }

  /**
   * Runs `build` after all earlier commits, writes its operations and the counters as one atomic batch
   * (fsync'd unless `durable` is false), passes the crash point, then announces the batch's events.
   * A failed write (EIO, disk full) puts the mirror back and is tried again with backoff (`build` runs
   * again on the restored mirror); after the last attempt the error is thrown to the caller.
   */
  commit<T>(point: CommitPoint | null, build: (tx: Transaction) => T): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`the session store is closed (commit point ${point ?? "event"})`));
    const run = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          if (this.diverged) throw this.diverged;
          if (this.reopenNeeded) await this.reopenDb();
          return await this.attempt(point, build);
        } catch (err) {
          if (err instanceof BuildError) throw err.cause;
          if (isLevelIoError(err) && this.reopen) this.reopenNeeded = true;
          const fatal = err instanceof StoreDivergedError;
          // A closed database will not get better: only write errors (and reopens after one) are tried again.
          const willRetry = !fatal && attempt < this.retry.attempts && (this.db.status === "open" || this.reopenNeeded);
          const delayMs = this.retry.initialDelayMs * 2 ** (attempt - 1);
          this.writeErrorListener({ point, attempt, willRetry, delayMs, err, ...(fatal ? { fatal } : {}) });
          if (!willRetry) throw err;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
    };
    const next = this.chain.then(run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async attempt<T>(point: CommitPoint | null, build: (tx: Transaction) => T): Promise<T> {
    const before = this.snapshot();
    const tx = new Transaction(this);
    let out: T;
    try {
      out = build(tx);
    } catch (err) {
      this.restore(before);
      throw new BuildError(err);
    }
    if (tx.ops.length === 0 && tx.events.length === 0) return out;
    if (tx.ops.length === 0 && point === null) {
      // Only ephemeral events: their seqs are stored with the next batch's meta (see emitEphemeral).
      this.metaUnstored = true;
      for (const entry of tx.events) this.listener(entry);
      return out;
    }
    const meta = { ...this.meta };
    const batch = [...tx.ops, { type: "put" as const, key: Keys.meta, value: meta }];
    try {
      if (point) failPoint(point);
      await this.db.batch(batch, { sync: point !== null && !UNSYNCED_POINTS.has(point) });
      if (point) failAfterWritePoint(point);
    } catch (err) {
      // The mirror must not claim what the database does not hold.
      this.restore(before);
      throw err;
    }
    this.metaUnstored = false;
    this.storedMeta = meta;
    if (point) crashPoint(point);
    for (const op of tx.ops) if (op.type === "put" && op.key.startsWith(Keys.inboxPrefix)) this.inbox.add(op.key.slice(Keys.inboxPrefix.length));
    for (const entry of tx.events) this.listener(entry);
    return out;
  }

  /**
   * Closes the database that failed a write and opens it again (LevelDB replays its log up to the cut).
   * Fails while the disk is still full; the write is then tried again later. If the journal's counters
   * are not the ones last stored, a write reported as failed did reach it: memory and journal diverged.
   */
  private async reopenDb(): Promise<void> {
    if (this.db.status === "open") await this.db.close().catch(() => undefined);
    this.db = await this.reopen!();
    const stored = await this.db.get(Keys.meta);
    this.reopenNeeded = false;
    if (JSON.stringify(stored) !== JSON.stringify(this.storedMeta)) {
      this.diverged = new StoreDivergedError("the session database holds a write this worker saw fail; its memory no longer matches the journal: restart the worker");
      throw this.diverged;
    }
  }

  private snapshot(): MirrorSnapshot {
    return {
      meta: cloneMeta(this.meta),
      messageCount: this.messages.length,
      queue: [...this.queue],
      lastTurn: this.lastTurn,
      intents: new Map(this.intents),
      compaction: this.compaction,
      learnedWindows: this.learnedWindows,
      refusedUrls: this.refusedUrls,
    };
  }

  private restore(s: MirrorSnapshot): void {
    this.meta = s.meta;
    this.messages.length = s.messageCount;
    this.queue = s.queue;
    this.lastTurn = s.lastTurn;
    this.intents = s.intents;
    this.compaction = s.compaction;
    this.learnedWindows = s.learnedWindows;
    this.refusedUrls = s.refusedUrls;
  }

  /**
   * Emits a non-durable event (progress, tool_started…): it gets the next seq and is announced in seq
   * order after every earlier commit, but writes nothing itself — the counter is stored with the next
   * batch (every batch writes meta) or at close. A turn sends several of these; a LevelDB batch each
   * was a fifth of the worker's store cost per turn. After a crash the seqs of ephemeral events sent
   * since the last batch may be used again: the host keys nothing on them (it dedupes durable events,
   * whose seqs are always stored with them).
   */
  emitEphemeral(event: SessionEvent): Promise<number | null> {
    // After close() began nothing more is stored, so the event is dropped rather than given a seq the
    // next start would hand out again (callers fire and forget these).
    if (this.closing) return Promise.resolve(null);
    if (isDurableEvent(event)) return this.commit(null, (tx) => tx.emit(event));
    // Nothing to write or undo: the seq is taken in turn after earlier commits, without a transaction.
    const next = this.chain.then(() => {
      const seq = this.meta.nextSeq++;
      this.metaUnstored = true;
      this.listener({ seq, event });
      return seq;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async outbox(): Promise<OutboxEntry[]> {
    await this.chain;
    const entries: OutboxEntry[] = [];
    for await (const value of this.db.values(prefixRange(Keys.outboxPrefix))) entries.push(value as OutboxEntry);
    return entries.filter((e) => e.seq > this.meta.lastAckedSeq);
  }

  /** Waits until every commit issued so far has been written. */
  async settled(): Promise<void> {
    await this.chain;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.chain;
    if (this.metaUnstored && this.db.status === "open" && !this.reopenNeeded && !this.diverged) await this.db.put(Keys.meta, { ...this.meta });
    await this.db.close();
  }
}

/** Opens the session's LevelDB with the options the store is tuned for. */
async function openLevel(dir: string): Promise<SessionDb> {
  // The journal is read once, at open, into memory (`load`): LevelDB's block cache has nothing to serve
  // afterwards, and a 512 kB memtable instead of 4 MB keeps a long session's worker small.
  const db = new Level<string, unknown>(dir, { valueEncoding: "json", cacheSize: 256 << 10, writeBufferSize: 512 << 10 });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // Only LevelDB's own lock error means another process: a read-only or full disk fails on the
    // LOCK file too ("IO error: …/LOCK: Read-only file system"), which is not a second worker.
    if (cause?.code === "LEVEL_LOCKED") throw new StoreLockedError(dir, err);
    throw new Error(`cannot open the session database ${dir}: ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
  return directBatches(db);
}
