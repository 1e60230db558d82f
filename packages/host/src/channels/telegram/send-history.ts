import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import type { SendBudget } from "./send-budget.js";

/**
 * Send-budget windows across a restart (ARCHITECTURE §8): a host restarted within Telegram's windows
 * (a crash loop, `systemctl restart`) would otherwise send a chat's next replies at once, on top of
 * the ones it just sent, and earn 429s. No write of its own: the chat's send times still inside its
 * longest window go into the batch that deletes a delivered outbox item (`outbox_sent`, and
 * `outbox_part` between the parts of a long reply), and an item whose attempt is recorded but not its
 * delivery counts as sent at the start. The stored times are answer times (SendBudget counts a send
 * from its answer, the latest Telegram can have got it); an attempt without an answer may have reached
 * Telegram any time until the host stopped, so its attempt time would undercount.
 */
interface SendTimesRecord {
  chatId: string;
  /** Milliseconds since the epoch, oldest first. */
  times: number[];
}

/**
 * Expiries closer together than this are deleted in one batch: a bot answering many chats writes one
 * delete per this much time at most, not one per reply.
 */
const PRUNE_BATCH_MS = 1000;

export interface SendHistoryOptions {
  store: HostStore;
  channelId: string;
  budget: SendBudget;
  /** A delete of expired records failed (logged; the record is tried again by the next start). */
  onPruneFailed?: (error: unknown) => void;
}

/**
 * The channel's `sendtimes:` records: staged with deliveries, read back at start, and deleted once no
 * send of theirs is left in any of their chat's windows, at start and while the host runs (a bot that
 * replied once to many chats would otherwise keep and read one record per chat forever). The deletes
 * are unnamed commits without fsync, batched (PRUNE_BATCH_MS); a failed one is logged and does not
 * fail anything: a lost delete leaves only records the next start drops again.
 */
export class SendHistory {
  /** Chat id → when its stored record may have expired (checked against the budget then). */
  private readonly stored = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: SendHistoryOptions) {}

  /** Stages the chat's recent send times in the batch of a delivery; once it is durable, its expiry is watched. */
  stage(tx: HostTransaction, chatId: string): void {
    const times = this.o.budget.sendTimes(chatId);
    if (!times.length) return;
    tx.put(HostKeys.sendTimes(this.o.channelId, chatId), { chatId, times } satisfies SendTimesRecord);
    tx.afterCommit(() => this.watch(chatId));
  }

  /**
   * At start: counts the sends an earlier run of the host made, and deletes the records with no send
   * left in any of their chat's windows; the others are deleted when they expire.
   */
  async restore(): Promise<void> {
    const { store, channelId, budget } = this.o;
    const expired: string[] = [];
    for (const record of store.list<SendTimesRecord>(HostKeys.sendTimes(channelId, ""))) {
      budget.restore(record.chatId, record.times);
      if (!budget.sendTimes(record.chatId).length) expired.push(HostKeys.sendTimes(channelId, record.chatId));
      else this.watch(record.chatId);
    }
    const now = Date.now();
    for (const item of store.outboundOf(channelId)) {
      if (item.attemptedAt) budget.restore(item.chatId, [now]);
    }
    if (expired.length) await store.commit(null, (tx) => expired.forEach((key) => tx.del(key))).catch((error: unknown) => this.o.onPruneFailed?.(error));
  }

  /** The channel stopped: no more deletes (the next start drops what expired meanwhile). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private watch(chatId: string): void {
    if (this.stopped) return;
    this.stored.set(chatId, this.o.budget.quietAt(chatId));
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped || !this.stored.size) return;
    // A loop, not Math.min(...values): spreading one argument per chat overflows the stack past ~100 000 chats.
    let next = Infinity;
    for (const at of this.stored.values()) if (at < next) next = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.prune();
    }, Math.max(0, next - Date.now()) + PRUNE_BATCH_MS).unref();
  }

  private async prune(): Promise<void> {
    const { store, channelId, budget } = this.o;
    const now = Date.now();
    const due = [...this.stored].filter(([, at]) => at <= now).map(([chatId]) => chatId);
    // Decided while the batch is built: a delivery staged meanwhile counts in the budget, so its record stays.
    const deleted = await store
      .commit(null, (tx) => {
        const gone: string[] = [];
        for (const chatId of due) {
          const quiet = budget.quietAt(chatId);
          if (quiet > now) this.stored.set(chatId, quiet);
          else {
            tx.del(HostKeys.sendTimes(channelId, chatId));
            gone.push(chatId);
          }
        }
        return gone;
      })
      .catch((error: unknown) => {
        // Not tried again by this run (a failing disk is reported anyway): the next start drops them.
        this.o.onPruneFailed?.(error);
        return due;
      });
    // A chat written again since (its newer expiry noted by `watch`) keeps its entry.
    for (const chatId of deleted) if ((this.stored.get(chatId) ?? 0) <= now) this.stored.delete(chatId);
    this.schedule();
  }
}
