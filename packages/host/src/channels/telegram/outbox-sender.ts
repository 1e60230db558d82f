import type pino from "pino";
import { HostKeys, type HostStore } from "../../state/host-store.js";
import type { OutboundItem } from "../../state/records.js";
import { retryStoreWrite } from "../../state/store-retry.js";
import { isAbortError } from "./api-retry.js";
import { migrateChat, upgradedChatId } from "./chat-migration.js";
import type { BotApi } from "./bot-api.js";
import type { ChatLanes } from "./chat-lanes.js";
import type { SendHistory } from "./send-history.js";
import { destination, DUPLICATE_PREFIX, isPermanentSendFailure, isTopicGone, TOPIC_GONE_NOTE, type Destination, type ReplySender } from "./reply-sender.js";

export interface OutboxSenderOptions {
  channelId: string;
  store: HostStore;
  api: BotApi;
  replies: ReplySender;
  lanes: ChatLanes;
  /** Stores the chat's send times with each delivery (ARCHITECTURE §8 "Send budget"). */
  history: SendHistory;
  log: pino.Logger;
  /** The conversation's workspace (for `<attachment>` paths); null when the item has no conversation. */
  workspaceFor: (chatId: string, conversationId: string, threadId: number | undefined) => Promise<string | null>;
  /** Chats drained at the same time (default 8). */
  maxParallelChats?: number;
  /** Called just before an item joins its chat's lane (the progress panels put a panel already due in first). */
  beforeSend?: (chatId: string) => void;
  /** Backoff settings for sends (tests shorten them). */
  retry?: { baseDelayMs?: number; maxDelayMs?: number };
}

/**
 * Delivers the durable outbox (ARCHITECTURE §5.5): per chat in `seq` order, chats in parallel.
 * `attemptedAt` is committed before a send and the item deleted after Telegram accepted it (both
 * without their own fsync: after a power failure `noteBoot` marks every item left a possible
 * duplicate, state/boot.ts); an item found attempted at start (outcome unknown after a crash) is
 * re-sent once, marked as a possible duplicate. Transient failures retry until they succeed or the sender stops; a chat
 * that can never receive (blocked, deleted) has its item dropped with a log line.
 */
export class OutboxSender {
  private readonly controller = new AbortController();
  /**
   * Aborted by `flush` (the channel stopping) and `stop`: a send still waiting for room in the send budget
   * or for a 429 pause gives up, its item left unattempted for the next start.
   */
  private readonly roomWait = new AbortController();
  /** Chats whose next item gave up waiting for room at the stop's flush: not drained again. */
  private readonly leftForNextStart = new Set<string>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly unknownOutcome = new Set<number>();
  /** Sent (or dropped) items whose `outbox_sent` write failed: only the delete is tried again, never the send. */
  private readonly delivered = new Set<number>();
  /**
   * Messages of a multi-part item Telegram accepted in this run, by seq: a send tried again after a failed
   * store write (`outbox_part`, `outbox_attempt`) does not repeat them.
   */
  private readonly sentParts = new Map<number, { count: number; partsOf: string }>();
  private started = false;

  constructor(private readonly options: OutboxSenderOptions) {}

  /** Notes items whose earlier send has an unknown outcome, then drains. */
  start(): void {
    for (const item of this.items()) if (item.attemptedAt) this.unknownOutcome.add(item.seq);
    if (this.unknownOutcome.size) this.options.log.info({ items: [...this.unknownOutcome] }, "re-sending outbox items whose delivery is unknown");
    this.started = true;
    this.wake();
  }

  /** Starts draining every chat that has items and is not being drained already. */
  wake(): void {
    if (!this.started || this.controller.signal.aborted) return;
    const max = this.options.maxParallelChats ?? 8;
    for (const chatId of this.options.store.outboundChats(this.options.channelId)) {
      if (this.active.size >= max) break;
      if (this.active.has(chatId) || this.leftForNextStart.has(chatId)) continue;
      const run = this.drainChat(chatId).finally(() => {
        this.active.delete(chatId);
        this.wake();
      });
      this.active.set(chatId, run);
    }
  }

  /** True when no item of this channel is waiting. */
  get empty(): boolean {
    return this.options.store.outboundChats(this.options.channelId).length === 0;
  }

  /**
   * At the channel's stop: sends what has room now and waits (at most `timeoutMs`) for the sends under
   * way. An item that would have to wait for room (Telegram's windows, a 429 pause) stays in the outbox,
   * unattempted, for the next start: waiting for it would hold the stop for seconds (a group's window is
   * a minute). True when no send is under way any more.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.roomWait.abort();
    this.wake();
    while (this.active.size && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.active.values()]), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
    }
    return this.active.size === 0;
  }

  /** Aborts in-flight sends and retries (their items stay in the outbox for the next start). */
  async stop(): Promise<void> {
    this.roomWait.abort();
    this.controller.abort();
    await Promise.allSettled([...this.active.values()]);
  }

  private items(): OutboundItem[] {
    return this.options.store.outboundOf(this.options.channelId);
  }

  private nextItem(chatId: string): OutboundItem | undefined {
    return this.options.store.nextOutbound(this.options.channelId, chatId);
  }

  private async drainChat(chatId: string): Promise<void> {
    const signal = this.controller.signal;
    for (let item = this.nextItem(chatId); item && !signal.aborted; item = this.nextItem(chatId)) {
      const current = item;
      // deliver() only throws for store failures (EIO, disk full): the same item is tried again with backoff.
      const send = () => {
        this.options.beforeSend?.(chatId);
        return this.options.lanes.run(chatId, () => this.deliver(current, signal));
      };
      const done = await retryStoreWrite(send, {
        signal,
        isFatal: isAbortError,
        onFailure: (err, delayMs) =>
          this.options.log.error({ seq: current.seq, chatId, delayMs, error: this.options.api.describe(err) }, "outbox delivery failed; retrying"),
      }).catch(() => false); // an aborted send: the item stays for the next start
      if (!done) {
        if (this.roomWait.signal.aborted) this.leftForNextStart.add(chatId);
        return;
      }
    }
  }

  private async deliver(item: OutboundItem, signal: AbortSignal): Promise<void> {
    const { store } = this.options;
    if (!this.delivered.has(item.seq) && (await this.attemptAndSend(item, signal)) === "moved") return;
    await store.commit("outbox_sent", (tx) => {
      tx.del(HostKeys.outbound(item.seq));
      this.options.history.stage(tx, item.chatId);
    });
    this.delivered.delete(item.seq);
    this.sentParts.delete(item.seq);
    this.options.log.debug({ seq: item.seq, chatId: item.chatId }, "outbox item done (sent, or dropped as unsendable)");
  }

  /**
   * Records the attempt, sends, and notes the item as delivered (a failed send is logged and dropped).
   * "moved": the chat turned out to be a group upgraded to a supergroup; the item (with the chat's
   * conversation, approval and other items) now names the new chat and is sent there (chat-migration.ts).
   */
  private async attemptAndSend(item: OutboundItem, signal: AbortSignal): Promise<"sent" | "moved"> {
    const { store, log, api } = this.options;
    const duplicate = item.possibleDuplicate === true || this.unknownOutcome.has(item.seq);
    // Sent as it is when the attempt is recorded: an unsent item may have changed since it was picked
    // (a refusal notice naming one more message, conversations/refusal-notices.ts).
    let current = item;
    // Room first: waiting for the send budget or a 429 pause is not an attempt (nothing went out yet).
    await api.reserve(item.chatId, this.roomWait.signal);
    await store
      .commit("outbox_attempt", (tx) => {
        current = store.get<OutboundItem>(HostKeys.outbound(item.seq)) ?? item;
        tx.put(HostKeys.outbound(item.seq), { ...current, attemptedAt: new Date().toISOString(), ...(duplicate ? { possibleDuplicate: true } : {}) });
      })
      .catch((err: unknown) => {
        // Nothing goes out: the room is given back, or the retry would wait for the window it holds.
        api.releaseReserved(item.chatId);
        throw err;
      });
    this.unknownOutcome.delete(item.seq);
    const inRun = this.sentParts.get(item.seq);
    let delivered = current.deliveredParts ?? 0;
    let partsOf = current.partsOf;
    if (inRun && inRun.count >= delivered) ({ count: delivered, partsOf } = inRun);
    try {
      await this.send({ ...current, deliveredParts: delivered, ...(partsOf === undefined ? {} : { partsOf }) }, duplicate, signal, (count, split) => {
        delivered = count;
        partsOf = split;
        this.sentParts.set(item.seq, { count, partsOf: split });
      });
    } catch (err) {
      if (signal.aborted || isAbortError(err) || err instanceof PartWriteFailed) throw err;
      const upgradedTo = upgradedChatId(err);
      if (upgradedTo) {
        log.info({ seq: item.seq, chatId: item.chatId, newChatId: upgradedTo, deliveredParts: delivered }, "the group was upgraded to a supergroup; its replies follow it");
        await store.commit("chat_access", (tx) => {
          migrateChat(tx, store, this.options.channelId, item.chatId, upgradedTo);
          // The parts the old id took are in the supergroup's history: only the rest is sent.
          const moved = store.get<OutboundItem>(HostKeys.outbound(item.seq));
          if (moved && delivered > 0) tx.put(HostKeys.outbound(item.seq), { ...moved, deliveredParts: delivered, ...(partsOf === undefined ? {} : { partsOf }) });
        });
        this.sentParts.delete(item.seq);
        return "moved";
      }
      if (isPermanentSendFailure(err)) {
        log.warn({ seq: item.seq, chatId: item.chatId, error: api.describe(err) }, "Telegram refused an outbox item permanently; dropping it");
      } else {
        log.error({ seq: item.seq, chatId: item.chatId, error: api.describe(err) }, "outbox item could not be sent; dropping it");
      }
    }
    this.delivered.add(item.seq);
    return "sent";
  }

  /**
   * Sends to the item's chat (and forum topic). A topic deleted or closed since the question was asked
   * refuses it: the answer goes to the group's General topic instead, its first line saying why.
   */
  private async send(item: OutboundItem, possibleDuplicate: boolean, signal: AbortSignal, onDelivered: (count: number, partsOf: string) => void): Promise<void> {
    try {
      const betweenParts = (count: number, partsOf: string) => this.betweenParts(item, count, partsOf, true);
      await this.sendTo(destination(item.chatId, item.threadId), item, { possibleDuplicate, signal, onDelivered, betweenParts });
    } catch (err) {
      if (item.threadId === undefined || !isTopicGone(err)) throw err;
      this.options.log.warn({ seq: item.seq, chatId: item.chatId, threadId: item.threadId, error: this.options.api.describe(err) }, "the forum topic is gone; the answer goes to General");
      // What reached the topic went with it (or cannot be answered in): General gets the whole answer.
      // Its parts are not recorded (the stored count is the topic's; the attempt mark is set, as the refused
      // part's attempt was recorded): a cut one is re-sent whole, labelled.
      const { partsOf: _split, ...rest } = item;
      const whole = { ...rest, deliveredParts: 0 };
      const betweenParts = (count: number, partsOf: string) => this.betweenParts(item, count, partsOf, false);
      await this.sendTo(destination(item.chatId, undefined), whole, { possibleDuplicate, signal, onDelivered, betweenParts, notice: TOPIC_GONE_NOTE });
    }
  }

  /**
   * Between two messages of a reply split for Telegram's length limit: records how many went out
   * (`outbox_part`, with the chat's send times; the attempt mark and the duplicate label cleared, as
   * their outcome is known now), waits for room for the next one (given up at a stop, like an item's
   * first message) and records its attempt. So a host killed or stopped between parts sends only the rest
   * after its start, labelled only when the next one's attempt was recorded. `durable` false: only the wait.
   */
  private async betweenParts(item: OutboundItem, count: number, partsOf: string, durable: boolean): Promise<void> {
    const { store, api } = this.options;
    const key = HostKeys.outbound(item.seq);
    const failed = (err: unknown) => {
      throw new PartWriteFailed(err);
    };
    if (durable) {
      await store
        .commit("outbox_part", (tx) => {
          const current = store.get<OutboundItem>(key);
          if (!current) return;
          const { attemptedAt: _attempted, possibleDuplicate: _labelled, ...rest } = current;
          tx.put(key, { ...rest, deliveredParts: count, partsOf } satisfies OutboundItem);
          this.options.history.stage(tx, item.chatId);
        })
        .catch(failed);
    }
    this.options.log.debug({ seq: item.seq, chatId: item.chatId, sentParts: count, recorded: durable }, "a reply's part went out; the next one waits for room");
    await api.reserve(item.chatId, this.roomWait.signal);
    if (durable) {
      await store
        .commit("outbox_attempt", (tx) => {
          const current = store.get<OutboundItem>(key);
          if (current) tx.put(key, { ...current, attemptedAt: new Date().toISOString() } satisfies OutboundItem);
        })
        .catch((err: unknown) => {
          api.releaseReserved(item.chatId);
          return failed(err);
        });
    }
  }

  private async sendTo(
    to: Destination,
    item: OutboundItem,
    o: { possibleDuplicate: boolean; signal: AbortSignal; onDelivered: (count: number, partsOf: string) => void; betweenParts: (count: number, partsOf: string) => Promise<void>; notice?: string },
  ): Promise<void> {
    const { replies } = this.options;
    const { possibleDuplicate, onDelivered, betweenParts, notice } = o;
    const options = { signal: o.signal, ...this.options.retry };
    const workspace = () => this.options.workspaceFor(item.chatId, item.conversationId, item.threadId);
    const payload = item.payload;
    switch (payload.kind) {
      case "text":
        return replies.sendText(
          to,
          { text: payload.text, html: payload.html, replyMarkup: payload.replyMarkup, possibleDuplicate, notice, skipParts: item.deliveredParts ?? 0, ...(item.partsOf === undefined ? {} : { partsOf: item.partsOf }), onDelivered, betweenParts },
          workspace,
          options,
        );
      case "file": {
        const caption = [possibleDuplicate ? DUPLICATE_PREFIX.trim() : "", notice ?? "", payload.caption ?? ""].filter(Boolean).join(" ");
        const name = payload.path.split("/").pop() ?? "file";
        return replies.sendAttachment(to, { path: payload.path, kind: payload.as, name, size: 0 }, caption || undefined, options);
      }
      case "panel":
        // Panels are normally live (not queued); a queued one is shown as a plain message.
        return replies.sendText(to, { text: payload.text, possibleDuplicate, notice }, async () => null, options);
    }
  }
}

/** A store write between two parts of a reply failed: the item is tried again (from the parts sent), not dropped as unsendable. */
class PartWriteFailed extends Error {
  constructor(readonly failure: unknown) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = "PartWriteFailed";
  }
}
