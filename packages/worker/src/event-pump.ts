import type { SessionEvent } from "@starling/protocol";

export interface PumpEntry {
  seq: number;
  event: SessionEvent;
}

/**
 * Sends session events to the host in seq order. Paused until the `initialize` response is out; then
 * the unacknowledged outbox is replayed first and live events follow. Anything at or below the last
 * sent seq is skipped, so an event is never sent twice by one process.
 */
export class EventPump {
  private paused = true;
  private lastSent = 0;

  constructor(private readonly send: (entry: PumpEntry) => void) {}

  push(entry: PumpEntry): void {
    if (this.paused || entry.seq <= this.lastSent) return;
    this.lastSent = entry.seq;
    this.send(entry);
  }

  /** Replays `backlog` (oldest first) and resumes live sending. */
  resume(backlog: readonly PumpEntry[]): void {
    for (const entry of backlog) {
      if (entry.seq > this.lastSent) {
        this.lastSent = entry.seq;
        this.send(entry);
      }
    }
    this.paused = false;
  }
}
