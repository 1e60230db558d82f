import type pino from "pino";
import { z } from "zod";
import type { TurnActivity } from "../channel.js";
import { HostKeys, type HostStore } from "../../state/host-store.js";
import type { EndedTurn } from "../../state/records.js";
import { isAbortError, telegramCode } from "./api-retry.js";
import type { BotApi } from "./bot-api.js";
import type { ChatLanes } from "./chat-lanes.js";
import { BudgetDeferredError } from "./send-budget.js";
import { escapeHtml, htmlToPlain, isFinalPhase, renderProgressPanel } from "./format/index.js";
import { destination, isParseEntitiesError, isNotModifiedError, isTopicGone } from "./reply-sender.js";

export interface ProgressPanelOptions {
  store: HostStore;
  api: BotApi;
  lanes: ChatLanes;
  log: pino.Logger;
  signal: AbortSignal;
  /**
   * Aborted when the channel starts stopping (before `signal`): a final state still waiting for room in
   * the send budget gives up, its `panelend:` record left for the next start (`restoreEnded`).
   */
  roomSignal?: AbortSignal;
  /** Minimum time between two edits of one panel (default 1000 ms). */
  minEditIntervalMs?: number;
  /**
   * A turn gets a panel only once it has run this long (default DEFAULT_PANEL_DELAY_MS; 0 = at once):
   * a fast answer needs none, so it costs no panel message, no `panel_created` commit and no edits.
   */
  delayMs?: number;
  now?: () => number;
}

interface Panel {
  turnKey: string;
  chatId: string;
  /** The forum topic; undefined also once the topic refused the panel and it moved to General. */
  threadId: number | undefined;
  /** Its topic refused the panel (deleted or closed): shown in General, first line saying why. */
  movedToGeneral: boolean;
  messageId: number | undefined;
  latest: TurnActivity;
  /** When `latest` arrived (a final state's elapsed time is measured to here, not to a delayed edit). */
  latestAt: number;
  /** Bumped on every activity; `shownVersion` is the one on screen. */
  version: number;
  shownVersion: number;
  lastEditAt: number;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
  /** A final state (done/failed/cancelled) is on screen: the panel is never edited again. */
  finalShown: boolean;
}

/** The first line of a panel whose forum topic refused it, posted to the group's General topic instead. */
export const PANEL_TOPIC_GONE_NOTE = "ℹ️ Its forum topic was deleted or closed, so this progress is shown here.";

/**
 * The `panel:<turnKey>` record (`panel_created`): the panel's message id, or the id and the move to General
 * when its forum topic refused it, so the edits after a restart keep the first line saying why.
 */
type PanelRecord = number | { messageId: number; movedToGeneral: true };
const panelRecordSchema = z.union([
  z.number().int(),
  z.object({ messageId: z.number().int(), movedToGeneral: z.literal(true) }),
]);

function readPanelRecord(value: unknown): { messageId: number; movedToGeneral: boolean } | undefined {
  const parsed = panelRecordSchema.safeParse(value);
  if (!parsed.success) return undefined;
  return typeof parsed.data === "number" ? { messageId: parsed.data, movedToGeneral: false } : parsed.data;
}

/** Config `progress_panel_delay_ms` default: most answers without tools come back within a second. */
export const DEFAULT_PANEL_DELAY_MS = 1000;

/**
 * One message per turn still running after `delayMs`, showing model, phase, tool and elapsed time, edited in place (ARCHITECTURE
 * §8). Edits are coalesced to at most one per `minEditIntervalMs`; the latest state (including
 * the final done/failed/cancelled one) is always shown eventually. The message id is committed
 * (`panel_created`) before the first edit, so after a restart the same message is edited.
 * Best-effort: failures are logged, never retried for long, and never block replies.
 */
export class ProgressPanels {
  private readonly panels = new Map<string, Panel>();
  private readonly finished = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: ProgressPanelOptions) {
    this.now = options.now ?? Date.now;
  }

  update(activity: TurnActivity): void {
    if (this.finished.has(activity.turnKey) || this.options.signal.aborted) return;
    let panel = this.panels.get(activity.turnKey);
    if (!panel) {
      const stored = readPanelRecord(this.options.store.get(HostKeys.panel(activity.turnKey)));
      // A turn that ends before its panel exists gets no panel (the reply says it all).
      if (stored === undefined && isFinalPhase(activity.phase)) return;
      panel = {
        turnKey: activity.turnKey,
        chatId: activity.chat.chatId,
        threadId: stored?.movedToGeneral ? undefined : activity.chat.threadId,
        movedToGeneral: stored?.movedToGeneral ?? false,
        messageId: stored?.messageId,
        latest: activity,
        latestAt: this.now(),
        version: 0,
        shownVersion: -1,
        lastEditAt: 0,
        timer: undefined,
        busy: false,
        finalShown: false,
      };
      this.panels.set(activity.turnKey, panel);
    }
    if (panel.finalShown) return;
    if (isFinalPhase(activity.phase) && this.notSentYet(panel) && !this.due(panel)) {
      // Ended before its delay ran out: like a turn that ends before its panel exists (the reply says it all).
      // A panel already due whose timer has not run yet is still sent (in its final state), not dropped.
      void this.finish(panel);
      return;
    }
    panel.latest = activity;
    panel.latestAt = this.now();
    panel.version++;
    this.keepEnd(panel);
    this.schedule(panel);
  }

  /**
   * The turn's final event is committed with a `panelend:` record only when the panel's id is stored by then
   * (EventReplies.recordEnd); a panel whose first send was still in flight gets it here, once both are known,
   * so a stop before its final edit still leaves that edit for the next start (`restoreEnded`).
   */
  private keepEnd(panel: Panel): void {
    const { store } = this.options;
    const key = HostKeys.panelEnd(panel.turnKey);
    if (panel.finalShown || !isFinalPhase(panel.latest.phase) || store.get(HostKeys.panel(panel.turnKey)) === undefined || store.get(key) !== undefined) return;
    const ended: EndedTurn = { activity: panel.latest, elapsedMs: panel.latestAt - panel.latest.startedAt };
    void store.commit(null, (tx) => tx.put(key, ended)).catch(() => undefined);
  }

  /**
   * At start: panels whose turn ended (stored with the final event) but were not edited to show it
   * before the host stopped get their final state now.
   */
  restoreEnded(channelId: string): void {
    const { store } = this.options;
    for (const ended of store.list<EndedTurn>("panelend:")) {
      const turnKey = ended.activity.turnKey;
      if (ended.activity.chat.channelId !== channelId) continue;
      if (store.get(HostKeys.panel(turnKey)) === undefined) {
        void store.commit(null, (tx) => tx.del(HostKeys.panelEnd(turnKey))).catch(() => undefined);
        continue;
      }
      this.update({ ...ended.activity, startedAt: this.now() - ended.elapsedMs });
    }
  }

  /**
   * Called before a message for `chatId` joins the chat's lane: a panel of that chat whose delay has run out
   * but whose timer has not fired yet (a busy event loop) joins the lane first, so it is shown above the reply.
   */
  sendDue(chatId: string): void {
    for (const panel of this.panels.values()) {
      if (panel.chatId !== chatId || !panel.timer || !this.notSentYet(panel) || !this.due(panel)) continue;
      clearTimeout(panel.timer);
      panel.timer = undefined;
      void this.flush(panel);
    }
  }

  /** Shows every pending state now (ignoring the rate limit); used when the channel stops. */
  flushAll(): void {
    for (const panel of this.panels.values()) {
      // A turn still within its delay gets no panel just because the host stops.
      if (panel.timer && !this.notSentYet(panel)) {
        clearTimeout(panel.timer);
        panel.timer = undefined;
        void this.flush(panel);
      }
    }
  }

  stopTimers(): void {
    for (const panel of this.panels.values()) clearTimeout(panel.timer);
  }

  private schedule(panel: Panel, deferMs = 0): void {
    if (panel.timer || panel.busy || panel.shownVersion === panel.version) return;
    const interval = this.options.minEditIntervalMs ?? 1000;
    // The final state goes out at once (the reply is on its way too); other states at most once per interval.
    const first = this.notSentYet(panel);
    const delay = this.options.delayMs ?? DEFAULT_PANEL_DELAY_MS;
    const wait = Math.max(
      deferMs,
      first ? panel.latest.startedAt + delay - this.now() : isFinalPhase(panel.latest.phase) ? 0 : panel.lastEditAt + interval - this.now(),
    );
    panel.timer = setTimeout(() => {
      panel.timer = undefined;
      void this.flush(panel);
    }, wait);
  }

  /** The turn has run for the panel delay: it gets a panel (from its first activity's `startedAt`). */
  private due(panel: Panel): boolean {
    return this.now() >= panel.latest.startedAt + (this.options.delayMs ?? DEFAULT_PANEL_DELAY_MS);
  }

  /** No panel message was sent or is being sent for this turn (nor stored by an earlier run). */
  private notSentYet(panel: Panel): boolean {
    return panel.messageId === undefined && panel.lastEditAt === 0 && !panel.busy;
  }

  private async flush(panel: Panel): Promise<void> {
    if (panel.busy) return;
    panel.busy = true;
    let keep = true;
    try {
      keep = await this.options.lanes.run(panel.chatId, () => this.show(panel));
    } catch (err) {
      // Stopping: leave the stored id (and final state) so the next start edits the same message.
      if (isAbortError(err) || this.options.signal.aborted || this.options.roomSignal?.aborted) return;
      if (err instanceof BudgetDeferredError) {
        // No room in the send budget for a cosmetic edit now: the latest state is shown when there is.
        panel.busy = false;
        return this.schedule(panel, err.retryInMs);
      }
      keep = false;
      this.options.log.warn({ turnKey: panel.turnKey, error: this.options.api.describe(err) }, "progress panel failed");
    } finally {
      panel.busy = false;
    }
    if (keep && !panel.finalShown && panel.shownVersion !== panel.version) return this.schedule(panel);
    if (!keep || panel.finalShown) await this.finish(panel);
  }

  /** Sends or edits the panel with its latest state; false when the panel should be given up. */
  private async show(panel: Panel): Promise<boolean> {
    const { api, store, signal } = this.options;
    const version = panel.version;
    const activity = panel.latest;
    const rendered = renderProgressPanel({
      model: activity.model,
      phase: activity.phase,
      toolName: activity.toolName,
      step: activity.step,
      elapsedMs: (isFinalPhase(activity.phase) ? panel.latestAt : this.now()) - activity.startedAt,
      queuePosition: activity.queuePosition,
      detail: activity.detail,
      plan: activity.plan,
    });
    const html = () => (panel.movedToGeneral ? `${escapeHtml(PANEL_TOPIC_GONE_NOTE)}\n${rendered}` : rendered);
    // Intermediate states are cosmetic (merged or dropped when the chat's budget is short); the final one waits.
    const budget = isFinalPhase(activity.phase) ? ("wait" as const) : ("cosmetic" as const);
    const call = { signal, roomSignal: this.options.roomSignal, maxAttempts: 3, quiet: true, maxDelayMs: 5000, budget };
    panel.lastEditAt = this.now();
    if (panel.messageId === undefined) {
      const send = () =>
        this.withPlainFallback(html(), (text, parseMode) =>
          api.call("sendMessage", { ...destination(panel.chatId, panel.threadId), text, parse_mode: parseMode, link_preview_options: { is_disabled: true } }, call),
        );
      const sent = await send().catch((err: unknown) => {
        // Its forum topic was deleted or closed meanwhile: shown in General, as the answer will be (§8).
        if (panel.threadId === undefined || !isTopicGone(err)) throw err;
        this.options.log.warn({ turnKey: panel.turnKey, threadId: panel.threadId, error: api.describe(err) }, "the forum topic is gone; the progress panel goes to General");
        panel.threadId = undefined;
        panel.movedToGeneral = true;
        return send();
      });
      panel.messageId = sent.message_id;
      try {
        const record: PanelRecord = panel.movedToGeneral ? { messageId: sent.message_id, movedToGeneral: true } : sent.message_id;
        await store.commit("panel_created", (tx) => tx.put(HostKeys.panel(panel.turnKey), record));
        this.keepEnd(panel);
      } catch (err) {
        // The panel is on screen either way: keep editing it (only a restart before the turn ends would send a new one).
        this.options.log.warn({ turnKey: panel.turnKey, err: err instanceof Error ? err.message : String(err) }, "progress panel id not stored");
      }
    } else {
      const messageId = panel.messageId;
      try {
        await this.withPlainFallback(html(), (text, parseMode) =>
          api.call("editMessageText", { chat_id: panel.chatId, message_id: messageId, text, parse_mode: parseMode, link_preview_options: { is_disabled: true } }, call),
        );
      } catch (err) {
        if (!isNotModifiedError(err)) {
          // The message is gone (deleted by the user, too old): give this panel up rather than re-create it.
          if (telegramCode(err) === 400) {
            this.options.log.info({ turnKey: panel.turnKey, error: api.describe(err) }, "progress panel can no longer be edited");
            return false;
          }
          throw err;
        }
      }
    }
    panel.lastEditAt = this.now();
    panel.shownVersion = version;
    if (isFinalPhase(activity.phase)) panel.finalShown = true;
    return true;
  }

  private async withPlainFallback<T>(html: string, send: (text: string, parseMode: "HTML" | undefined) => Promise<T>): Promise<T> {
    try {
      return await send(html, "HTML");
    } catch (err) {
      if (!isParseEntitiesError(err)) throw err;
      return send(htmlToPlain(html), undefined);
    }
  }

  private async finish(panel: Panel): Promise<void> {
    clearTimeout(panel.timer);
    this.panels.delete(panel.turnKey);
    this.finished.add(panel.turnKey);
    if (this.finished.size > 1000) this.finished.delete(this.finished.values().next().value!);
    const keys = [HostKeys.panel(panel.turnKey), HostKeys.panelEnd(panel.turnKey)].filter((key) => this.options.store.get(key) !== undefined);
    if (keys.length) {
      await this.options.store.commit(null, (tx) => keys.forEach((key) => tx.del(key))).catch(() => undefined);
    }
    this.options.log.debug({ turnKey: panel.turnKey, chatId: panel.chatId }, "progress panel finished: no more edits");
  }
}
