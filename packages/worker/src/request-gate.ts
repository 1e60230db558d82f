/**
 * Holds the client's requests while it leaves too much of the worker's output unread (its answers
 * would pile up in memory without bound) and runs them in order once it has caught up: one per
 * event-loop turn, so an answer written meanwhile can close the gate again before the next runs.
 * Responses and notifications from the client pass: they produce no output.
 */
export class RequestGate {
  private held: (() => void)[] = [];
  private closed = false;
  private releasing = false;

  /** Runs `handle` now, or after the requests held before it once the gate is open. */
  pass(handle: () => void): void {
    if (this.closed || this.held.length > 0) this.held.push(handle);
    else handle();
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.closed = false;
    this.releaseNext();
  }

  private releaseNext(): void {
    if (this.releasing || this.closed || this.held.length === 0) return;
    this.held.shift()!();
    this.releasing = true;
    setImmediate(() => {
      this.releasing = false;
      this.releaseNext();
    });
  }
}
