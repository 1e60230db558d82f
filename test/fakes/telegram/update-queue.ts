import type { TgUpdate } from "./types.js";

/** Update types Telegram leaves out unless `allowed_updates` names them. */
const OPT_IN_TYPES = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

export type PollOutcome = "wake" | "conflict" | "closed";

/**
 * The bot's update queue with getUpdates semantics: updates stay until an `offset`
 * above their id confirms them; `allowed_updates` persists between calls; one long
 * poll at a time (a newer getUpdates terminates the held one with 409 Conflict).
 */
export class UpdateQueue {
  private nextId: number;
  private pending: TgUpdate[] = [];
  private readonly history: TgUpdate[] = [];
  /** When each update was queued (ms), by update_id. */
  readonly pushedAt = new Map<number, number>();
  private confirmed = 0;
  private allowed: Set<string> | undefined;
  private readonly wakers = new Set<(outcome: PollOutcome) => void>();
  private activePoll: ((outcome: PollOutcome) => void) | undefined;
  private closed = false;

  constructor(firstUpdateId = 1) {
    this.nextId = firstUpdateId;
  }

  /** Queues an update and wakes a held long poll; returns its update_id. */
  push(update: Omit<TgUpdate, "update_id">): number {
    const full: TgUpdate = { update_id: this.nextId++, ...update };
    this.pending.push(full);
    this.history.push(full);
    this.pushedAt.set(full.update_id, Date.now());
    for (const wake of [...this.wakers]) wake("wake");
    return full.update_id;
  }

  /** getUpdates `offset`: drops updates below it (negative: keeps only the last -offset). */
  confirm(offset: number): void {
    if (offset > 0) {
      this.pending = this.pending.filter((update) => update.update_id >= offset);
      this.confirmed = Math.max(this.confirmed, offset);
    } else if (offset < 0) {
      const dropped = this.pending.slice(0, Math.max(0, this.pending.length + offset));
      this.pending = this.pending.slice(dropped.length);
      const last = dropped.at(-1);
      if (last !== undefined) this.confirmed = Math.max(this.confirmed, last.update_id + 1);
    }
  }

  /** deleteWebhook `drop_pending_updates`. */
  dropPending(): void {
    const last = this.pending.at(-1);
    if (last !== undefined) this.confirmed = Math.max(this.confirmed, last.update_id + 1);
    this.pending = [];
  }

  /** getUpdates `allowed_updates`: a list replaces the setting, an empty list means the default. */
  setAllowed(list: unknown): void {
    if (!Array.isArray(list)) return;
    this.allowed = list.length === 0 ? undefined : new Set(list.filter((t): t is string => typeof t === "string"));
  }

  /** Up to `limit` deliverable updates (not removed: only a later offset confirms them). */
  take(limit: number): TgUpdate[] {
    this.pending = this.pending.filter((update) => this.isAllowed(update));
    return this.pending.slice(0, limit);
  }

  private isAllowed(update: TgUpdate): boolean {
    const type = Object.keys(update).find((key) => key !== "update_id") ?? "";
    return this.allowed === undefined ? !OPT_IN_TYPES.has(type) : this.allowed.has(type);
  }

  /** Ends a held long poll with 409 Conflict, as Telegram does when a second getUpdates arrives. */
  terminateActivePoll(): void {
    this.activePoll?.("conflict");
  }

  /** Waits until an update is pushed, `ms` pass, the request goes away, or the queue closes. */
  wait(ms: number, signal: AbortSignal): Promise<PollOutcome> {
    if (this.closed) return Promise.resolve("closed");
    return new Promise((resolve) => {
      const finish = (outcome: PollOutcome): void => {
        clearTimeout(timer);
        this.wakers.delete(finish);
        if (this.activePoll === finish) this.activePoll = undefined;
        signal.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => finish("wake");
      const timer = setTimeout(() => finish("wake"), ms);
      this.wakers.add(finish);
      this.activePoll = finish;
      signal.addEventListener("abort", onAbort);
    });
  }

  close(): void {
    this.closed = true;
    for (const wake of [...this.wakers]) wake("closed");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  pendingCount(): number {
    return this.pending.length;
  }

  confirmedOffset(): number {
    return this.confirmed;
  }

  /** Every update ever queued, oldest first. */
  all(): TgUpdate[] {
    return [...this.history];
  }
}
