import { relative } from "node:path";
import type pino from "pino";
import { HostKeys, type HostStore } from "../../state/host-store.js";
import type { OutboundItem, OutboundPayload } from "../../state/records.js";
import { retryStoreWrite } from "../../state/store-retry.js";
import { extractAttachments } from "../attachments.js";
import type { WebEvent, WebLog } from "./web-log.js";
import { workerMessagePrefix } from "./web-conversations.js";

export interface WebOutboxOptions {
  channelId: string;
  store: HostStore;
  webLog: WebLog;
  log: pino.Logger;
  /** The conversation's workspace (attachment paths are resolved and confined there). */
  workspaceOf: (conversationId: string) => string;
  /** Events were written (the SSE streams of the conversation read them). */
  written: (conversationId: string) => void;
}

/**
 * Delivery for the web channel (ARCHITECTURE §5.5): each outbox item becomes events in the web log
 * (one sync batch that also records the item's seq, so a second move writes nothing), and only then
 * is the item deleted from the outbox. A crash between the two moves it again: nothing is lost or doubled.
 */
export class WebOutbox {
  private running: Promise<void> | null = null;
  private again = false;
  private readonly stopping = new AbortController();

  constructor(private readonly o: WebOutboxOptions) {}

  wake(): void {
    if (this.stopping.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.o.log.error({ error: err instanceof Error ? err.message : String(err) }, "web outbox delivery failed"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Ends a wait between retries at once; an item whose write failed stays in the outbox for the next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const items = this.o.store.outboundOf(this.o.channelId);
      const signal = this.stopping.signal;
      if (!items.length || signal.aborted) return;
      for (const item of items) {
        // A failed write (web log or outbox delete) is tried again with backoff; moving an item twice writes nothing.
        const moved = await retryStoreWrite(() => this.move(item), {
          signal,
          onFailure: (err, delayMs) => this.o.log.error({ seq: item.seq, delayMs, error: err instanceof Error ? err.message : String(err) }, "web outbox delivery failed; retrying"),
        });
        if (!moved) return;
      }
    }
  }

  private async move(item: OutboundItem): Promise<void> {
    const conversationId = item.conversationId || this.o.store.conversationOfChat(item.channelId, item.chatId)?.id;
    if (conversationId) {
      await this.o.webLog.appendFromOutbox(item.seq, this.events(item, conversationId));
      this.o.written(conversationId);
    } else this.o.log.warn({ seq: item.seq, chatId: item.chatId }, "outbox item without a conversation; dropping it");
    await this.o.store.commit("outbox_sent", (tx) => tx.del(HostKeys.outbound(item.seq)));
  }

  /** The turn end as the web log keeps it: the answered messages by this conversation's client ids. */
  private turnEnd(end: NonNullable<TextPayload["turnEnd"]>, conversationId: string): NonNullable<WebEvent["turnEnd"]> {
    const { messageIds, ...rest } = end;
    if (!messageIds) return rest;
    const prefix = workerMessagePrefix(this.o.channelId, conversationId);
    return { ...rest, messageIds: messageIds.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length)) };
  }

  private events(item: OutboundItem, conversationId: string): Omit<WebEvent, "id">[] {
    const base = { conversationId, at: item.createdAt };
    const p = item.payload;
    switch (p.kind) {
      case "text": {
        const workspace = this.o.workspaceOf(conversationId);
        const extracted = /<attachment>/i.test(p.text) ? extractAttachments(p.text, workspace) : { text: p.text, attachments: [], rejected: [] };
        let text = extracted.text;
        if (extracted.rejected.length) text += `\n\n${extracted.rejected.map((r) => `⚠️ Could not attach \`${r.path.trim()}\`: ${r.reason}.`).join("\n")}`;
        const buttons = toButtons(p.replyMarkup);
        const failed = p.turnEnd && p.turnEnd.outcome !== "completed";
        const turnEnd = p.turnEnd && this.turnEnd(p.turnEnd, conversationId);
        const first: Omit<WebEvent, "id"> = { ...base, kind: failed ? "notice" : "assistant", text, ...(buttons ? { buttons } : {}), ...(turnEnd ? { turnEnd } : {}) };
        const files = extracted.attachments.map((a): Omit<WebEvent, "id"> => ({ ...base, kind: "file", text: a.name, path: relative(workspace, a.path) }));
        return [first, ...files];
      }
      case "file":
        return [{ ...base, kind: "file", text: p.caption ?? p.path.split("/").pop() ?? "file", path: relative(this.o.workspaceOf(conversationId), p.path) }];
      case "panel":
        return [{ ...base, kind: "notice", text: p.text }];
    }
  }
}

type TextPayload = Extract<OutboundPayload, { kind: "text" }>;

/** Inline keyboards as the conversation service writes them: rows of `{text, data}`. */
function toButtons(markup: unknown): { text: string; data: string }[][] | undefined {
  if (!Array.isArray(markup)) return undefined;
  const rows = markup
    .filter((row): row is unknown[] => Array.isArray(row))
    .map((row) =>
      row.filter((b): b is { text: string; data: string } => typeof b === "object" && b !== null && typeof (b as { text?: unknown }).text === "string" && typeof (b as { data?: unknown }).data === "string"),
    )
    .filter((row) => row.length);
  return rows.length ? rows : undefined;
}
