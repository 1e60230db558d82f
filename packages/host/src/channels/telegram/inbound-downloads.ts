import type pino from "pino";
import { retryStoreWrite } from "../../state/store-retry.js";
import type { ConversationController, PendingDownload } from "../channel.js";
import type { BotApi } from "./bot-api.js";
import { downloadFailureNotice, downloadInboundFiles, type MediaKind } from "./inbound-media.js";

export interface InboundDownloadsOptions {
  channelId: string;
  api: BotApi;
  controller: ConversationController;
  log: pino.Logger;
  limitBytes: number;
  /** The conversation's workspace (files go to `attachments/incoming/`). */
  workspaceFor: (chatId: string, conversationId: string, threadId: number | undefined) => Promise<string | null>;
  /** A failure notice was committed to the outbox. */
  wakeOutbox: () => void;
  /** Messages whose files download at the same time (default 4). */
  maxParallel?: number;
}

/**
 * Downloads the files of messages admitted with `pendingFiles` (ARCHITECTURE §8) after their
 * admission, so a slow or hung download holds only its own conversation: that message and the
 * conversation's later ones stay held until `filesDownloaded` stored the files (commit point
 * `inbound_files`). What a previous run left undownloaded is picked up by `wake()` at start.
 */
export class InboundDownloads {
  private readonly active = new Set<string>();
  private readonly abort = new AbortController();

  constructor(private readonly o: InboundDownloadsOptions) {}

  /** Starts the download of every waiting message of this channel not being downloaded already. */
  wake(): void {
    const max = this.o.maxParallel ?? 4;
    for (const pending of this.o.controller.pendingDownloads(this.o.channelId)) {
      if (this.abort.signal.aborted || this.active.size >= max) return;
      // By its files too: files an edit put in place of others still downloading do not wait for that download.
      const key = `${pending.conversationId}:${pending.seq}:${pending.files.map((f) => f.name).join("/")}`;
      if (this.active.has(key)) continue;
      this.active.add(key);
      void this.download(pending)
        .catch((err: unknown) => {
          if (!this.abort.signal.aborted) this.o.log.error({ conversationId: pending.conversationId, seq: pending.seq, error: this.o.api.describe(err) }, "inbound file download failed");
        })
        .finally(() => {
          this.active.delete(key);
          this.wake();
        });
    }
  }

  /** Stops the downloads in progress; their messages stay held and are downloaded after the next start. */
  stop(): void {
    this.abort.abort();
  }

  private async download(pending: PendingDownload): Promise<void> {
    const { log, api } = this.o;
    const signal = this.abort.signal;
    const workspace = await this.o.workspaceFor(pending.chatId, pending.conversationId, pending.threadId);
    if (!workspace || signal.aborted) return;
    const files = pending.files.map((f) => ({ ...f, kind: f.kind as MediaKind }));
    const { items, failures } = await downloadInboundFiles(files, { api, workspace, limitBytes: this.o.limitBytes, signal });
    if (failures.length) log.warn({ chatId: pending.chatId, failures }, "inbound attachment download failed");
    const notice = failures.length ? downloadFailureNotice(failures) : null;
    await retryStoreWrite(
      async () => {
        const stored = await this.o.controller.filesDownloaded(pending, items, notice);
        if (stored) log.info({ chatId: pending.chatId, seq: pending.seq, files: pending.files.length }, "inbound files stored");
        else log.info({ chatId: pending.chatId, seq: pending.seq }, "downloaded files not stored: their message no longer waits for them (replaced by an edit, or handled before)");
        if (stored && notice) this.o.wakeOutbox();
      },
      {
        signal,
        onFailure: (err, delayMs, n) => log.error({ seq: pending.seq, delayMs, failures: n, error: api.describe(err) }, "storing downloaded files failed; retrying"),
      },
    );
  }
}
