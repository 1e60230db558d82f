import type pino from "pino";
import { errorText } from "./util.js";

export interface EventAcksOptions {
  /** Sends `session/ackEvents` up to `upTo`. */
  send(upTo: number): Promise<unknown>;
  /** The request failed because the worker went away (nothing to retry: it re-sends after its restart). */
  lost(err: unknown): boolean;
  log: pino.Logger;
  /** How long a processed seq waits for more before it is acknowledged (default ACK_DELAY_MS). */
  delayMs?: number;
}

/**
 * A processed seq is acknowledged at most this long after it was noted (more that follow meanwhile join it).
 * An acknowledgement costs the worker ~1 ms of CPU (a request, a wake-up, a journal write): with 1 s, a
 * session whose turns came more than a second apart (100 busy conversations) paid one per turn.
 */
export const ACK_DELAY_MS = 5000;
const ACK_ATTEMPTS = 4;

/**
 * `session/ackEvents` for one worker life, coalesced: the events processed within `delayMs` of the
 * first are acknowledged by one request for the highest seq, and at most one request is in flight.
 * An acknowledgement that comes late (or never: a host crash) only means the worker re-sends those
 * events after its next start, and the host skips them by seq (ARCHITECTURE §5.2). `flush` sends
 * what is waiting at once (before a graceful shutdown). One the worker could not store (disk error) is
 * tried again with backoff; until it is, the worker keeps the events.
 */
export class EventAcks {
  /** Highest seq noted. */
  private wanted = 0;
  /** Highest seq the worker confirmed. */
  private acked = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The seq of the request in flight (0: none). */
  private sending = 0;
  private attempt = 0;
  /** The worker answered a carried acknowledgement without applying it (it predates `ackUpTo`). */
  private carryIgnored = false;

  constructor(private readonly o: EventAcksOptions) {}

  /** `seq` was durably processed (or found processed before): acknowledge it soon. */
  note(seq: number): void {
    if (seq > this.wanted) this.wanted = seq;
    this.schedule(this.o.delayMs ?? ACK_DELAY_MS);
  }

  /**
   * Sends the waiting acknowledgement now, if any. A timer's flush waits for the one in flight; `final`
   * (before a graceful shutdown) sends beside it (the worker never moves its position back).
   */
  flush(final = false): void {
    this.cancel();
    if ((this.sending && !final) || this.wanted <= Math.max(this.acked, this.sending)) return;
    const upTo = this.wanted;
    this.track(upTo, this.o.send(upTo).then(() => true));
  }

  /**
   * Sends a request that can carry the waiting acknowledgement (`session/enqueue` `ackUpTo`) instead of
   * its own `session/ackEvents`: `send` gets the seq to carry (undefined: nothing waits, or a request is
   * in flight). A worker that applied it answers with `lastAckedSeq`; one that does not know the field
   * answers without it: the acknowledgement waits for its own request again, and no later request of this
   * life carries one (each would put its timer off again, and a busy session would never be acknowledged).
   */
  carry<T extends { lastAckedSeq?: number }>(send: (upTo: number | undefined) => Promise<T>): Promise<T> {
    if (this.carryIgnored || this.sending || this.wanted <= this.acked) return send(undefined);
    this.cancel();
    const upTo = this.wanted;
    const answer = send(upTo);
    this.track(
      upTo,
      answer.then((result) => {
        if (result.lastAckedSeq === undefined) this.carryIgnored = true;
        return !this.carryIgnored;
      }),
    );
    return answer;
  }

  /** Follows the request acknowledging `upTo` (`applied` false: the worker ignored it). */
  private track(upTo: number, applied: Promise<boolean>): void {
    this.sending = upTo;
    const done = () => {
      if (this.sending === upTo) this.sending = 0;
    };
    applied.then(
      (ok) => {
        done();
        if (!ok) return this.schedule(this.o.delayMs ?? ACK_DELAY_MS);
        this.attempt = 0;
        if (upTo > this.acked) this.acked = upTo;
        if (this.wanted > this.acked) this.schedule(this.o.delayMs ?? ACK_DELAY_MS);
      },
      (err: unknown) => {
        done();
        this.attempt++;
        if (this.o.lost(err) || this.attempt >= ACK_ATTEMPTS) {
          this.o.log.debug({ seq: upTo, err: errorText(err) }, "ackEvents failed (re-sent after a restart)");
          this.attempt = 0;
          this.wanted = this.acked; // given up for this life: a later event acknowledges everything up to it
          return;
        }
        const delayMs = 500 * 2 ** (this.attempt - 1);
        this.o.log.warn({ seq: upTo, attempt: this.attempt, delayMs, err: errorText(err) }, "ackEvents failed; retrying");
        this.schedule(delayMs);
      },
    );
  }

  /** Drops a waiting acknowledgement (the worker is gone). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.sending) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delayMs);
    this.timer.unref();
  }
}
