import PQueue from "p-queue";

/** A held turn slot; `release` is idempotent. */
export interface SlotLease {
  release(): void;
}

/**
 * The global cap on running turns. Each session that needs to run a turn asks for a slot once; a
 * p-queue task holds the slot until the session releases its lease. Waiting sessions are kept in
 * FIFO order so `/status` can show a position. A holder yields its slot after a turn when others
 * wait and asks again at the back (SessionRunner), so busy sessions take turns round robin.
 */
export class TurnSlots {
  private readonly queue: PQueue;
  private waiting: string[] = [];

  constructor(
    capacity: number,
    private readonly onError: (err: unknown) => void,
    /** Called when the waiting list changes (a holder may have to yield: `othersWaiting`). */
    private readonly onChange: () => void = () => undefined,
  ) {
    this.queue = new PQueue({ concurrency: Math.max(1, Math.floor(capacity) || 1) });
  }

  /** True when a request made now would be granted without waiting behind others. */
  hasCapacity(): boolean {
    return this.waiting.length === 0 && this.queue.pending < this.queue.concurrency;
  }

  /** Slots currently held. */
  get held(): number {
    return this.queue.pending;
  }

  /** Queues `sessionId`; `grant` runs once a slot is free and owns it until `lease.release()`. */
  request(sessionId: string, grant: (lease: SlotLease) => void): void {
    this.waiting.push(sessionId);
    this.onChange();
    this.queue
      .add(
        () =>
          new Promise<void>((done) => {
            this.leaveWaiting(sessionId);
            let released = false;
            const lease: SlotLease = {
              release: () => {
                if (released) return;
                released = true;
                done();
              },
            };
            try {
              grant(lease);
            } catch (err) {
              lease.release();
              this.onError(err);
            }
          }),
      )
      .catch((err: unknown) => this.onError(err));
  }

  /**
   * A slot holder is about to wait for other sessions' turns (subagent_join): its slot is lent for as long,
   * so the cap counts turns that work and a turn waiting for its subagent never keeps that subagent out.
   * The returned function takes the slot back (idempotent); a turn started on the lent slot runs to its end.
   */
  lend(): () => void {
    this.queue.concurrency += 1;
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.queue.concurrency -= 1;
    };
  }

  /** Another session than `sessionId` waits for a slot (the holder should yield after its turn). */
  othersWaiting(sessionId: string): boolean {
    return this.waiting.some((id) => id !== sessionId);
  }

  /** The waiting sessions, first in line first. */
  waitingSessions(): readonly string[] {
    return this.waiting;
  }

  /** 1-based position among waiting sessions, or null. */
  position(sessionId: string): number | null {
    const index = this.waiting.indexOf(sessionId);
    return index < 0 ? null : index + 1;
  }

  /** Drops every waiting request (at shutdown). Held slots stay until released. */
  clear(): void {
    this.queue.clear();
    this.waiting = [];
  }

  private leaveWaiting(sessionId: string): void {
    const index = this.waiting.indexOf(sessionId);
    if (index >= 0) this.waiting.splice(index, 1);
  }
}
