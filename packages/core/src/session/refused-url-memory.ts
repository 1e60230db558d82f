import type { TranscriptMessage } from "@starling/protocol";
import { withoutRefusedUrls, type RefusedUrl } from "../media/refused-url-media.js";
import type { SessionStore, Transaction } from "../store/session-store.js";

/**
 * Files given by URL that the provider refused (media/refused-url-media.ts). Learned in memory at the
 * refusal, so the retried call already sends the note instead, and stored with the next commit of the
 * turn (the answer, the compaction, the turn's end by failure, cancel or a new message: no write of its
 * own), so a restarted worker does not send the URL again either. A worker that dies before that commit
 * sends it once more and learns it again from the same refusal.
 */
export class RefusedUrlMemory {
  /** Refused in this worker's life (maybe not stored yet). */
  private readonly learned = new Map<string, string>();

  constructor(private readonly store: SessionStore) {}

  /** Every refused URL with its refusal: the stored ones and those learned since. */
  get all(): ReadonlyMap<string, string> {
    if (this.learned.size === 0) return this.store.refusedUrls;
    return new Map([...this.store.refusedUrls, ...this.learned]);
  }

  /** `messages` with the refused files replaced by notes. */
  apply(messages: TranscriptMessage[]): TranscriptMessage[] {
    return withoutRefusedUrls(messages, this.all);
  }

  refused(file: RefusedUrl): void {
    this.learned.set(file.url, file.reason);
  }

  /** In a commit of the turn: stores what was learned in this worker and is not stored yet. */
  keep(tx: Transaction): void {
    for (const [url, reason] of this.learned) if (this.store.refusedUrls.get(url) !== reason) tx.setRefusedUrl(url, reason);
  }
}
