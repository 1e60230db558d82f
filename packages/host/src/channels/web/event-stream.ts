import type { ServerResponse } from "node:http";
import type { AssistantText, TurnActivity } from "../channel.js";
import type { WebEvent, WebLog } from "./web-log.js";

/** Live progress of a conversation's turn, as `/events` sends it (not durable, no SSE id). */
export interface ProgressView {
  conversationId: string;
  phase: TurnActivity["phase"];
  model: string;
  toolName?: string;
  step?: number;
  startedAt: string;
  detail?: string;
  plan?: string[];
}

/**
 * Assistant text as it streams (`event: delta`, no SSE id). `offset` 0 starts the text of a model call
 * again (a new step or a retry): the page replaces its growing bubble, the final message replaces it.
 */
export interface DeltaView {
  conversationId: string;
  turnKey: string;
  /** The turn's model call this text belongs to (1, 2, … as in progress `step`). */
  step: number;
  /** Length of the call's text before this piece. */
  offset: number;
  text: string;
}

/** The text of the model call under way in a conversation (memory only, dropped when the turn ends). */
interface Streaming {
  turnKey: string;
  step: number;
  text: string;
  /** A model call started since the last piece: the next piece starts the text again. */
  restart: boolean;
}

/** `answers`: the client message ids the piece's turn answers, when its start was seen (see `EventHub.progress`). */
type Listener = { written: () => void; progress: (p: ProgressView) => void; delta?: (d: DeltaView, answers: readonly string[] | undefined) => void };

/** The client message ids a conversation's running turn answers (from its `turn_started`). */
interface Answering {
  turnKey: string;
  messageIds: readonly string[];
}

/** Who listens to which conversation; the latest progress of each running turn. */
export class EventHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly latest = new Map<string, ProgressView>();
  private readonly streaming = new Map<string, Streaming>();
  private readonly answering = new Map<string, Answering>();

  subscribe(conversationId: string, listener: Listener): () => void {
    const set = this.listeners.get(conversationId) ?? new Set();
    set.add(listener);
    this.listeners.set(conversationId, set);
    return () => {
      set.delete(listener);
      if (!set.size) this.listeners.delete(conversationId);
    };
  }

  written(conversationId: string): void {
    for (const l of this.listeners.get(conversationId) ?? []) l.written();
  }

  /** `answers`: on a turn's start, the client message ids it answers (this channel's, without the prefix). */
  progress(activity: TurnActivity, answers?: readonly string[]): void {
    const view: ProgressView = {
      conversationId: activity.conversationId,
      phase: activity.phase,
      model: activity.model,
      ...(activity.toolName ? { toolName: activity.toolName } : {}),
      ...(activity.step !== undefined ? { step: activity.step } : {}),
      startedAt: new Date(activity.startedAt).toISOString(),
      ...(activity.detail ? { detail: activity.detail } : {}),
      ...(activity.plan ? { plan: activity.plan } : {}),
    };
    if (["done", "failed", "cancelled"].includes(view.phase)) {
      this.latest.delete(view.conversationId);
      this.streaming.delete(view.conversationId);
      this.answering.delete(view.conversationId);
    } else this.latest.set(view.conversationId, view);
    if (answers) this.answering.set(view.conversationId, { turnKey: activity.turnKey, messageIds: answers });
    const text = this.streaming.get(view.conversationId);
    if (text && (view.phase === "calling_model" || view.phase === "retrying")) {
      text.restart = true;
      if (view.phase === "calling_model" && view.step !== undefined) text.step = view.step;
    }
    for (const l of this.listeners.get(view.conversationId) ?? []) l.progress(view);
  }

  current(conversationId: string): ProgressView | undefined {
    return this.latest.get(conversationId);
  }

  delta(d: AssistantText): void {
    let text = this.streaming.get(d.conversationId);
    if (!text || text.turnKey !== d.turnKey) {
      text = { turnKey: d.turnKey, step: this.latest.get(d.conversationId)?.step ?? 1, text: "", restart: false };
      this.streaming.set(d.conversationId, text);
    }
    if (text.restart) {
      text.text = "";
      text.restart = false;
    }
    const view: DeltaView = { conversationId: d.conversationId, turnKey: d.turnKey, step: text.step, offset: text.text.length, text: d.text };
    text.text += d.text;
    const answering = this.answering.get(d.conversationId);
    const answers = answering?.turnKey === d.turnKey ? answering.messageIds : undefined;
    for (const l of this.listeners.get(d.conversationId) ?? []) l.delta?.(view, answers);
  }

  /** The streamed text of the model call under way, as one piece from offset 0 (for a page that connects mid-answer). */
  currentText(conversationId: string): DeltaView | undefined {
    const text = this.streaming.get(conversationId);
    if (!text || !text.text || text.restart) return undefined;
    return { conversationId, turnKey: text.turnKey, step: text.step, offset: 0, text: text.text };
  }

  /** Waits for the first event after `afterId` that `match` accepts (the OpenAI endpoint waits for the turn's end). */
  waitFor(log: WebLog, conversationId: string, afterId: number, match: (e: WebEvent) => boolean, signal: AbortSignal): Promise<WebEvent> {
    return new Promise<WebEvent>((resolve, reject) => {
      const done = (fn: () => void) => {
        follower.stopped = true;
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
        fn();
      };
      const follower = new LogFollower(log, conversationId, afterId, (e) => {
        if (match(e)) done(() => resolve(e));
      });
      follower.onError = (err) => done(() => reject(err));
      const onAbort = () => done(() => reject(signal.reason));
      const unsubscribe = this.subscribe(conversationId, { written: () => void follower.poke(), progress: () => undefined });
      signal.addEventListener("abort", onAbort, { once: true });
      void follower.poke();
    });
  }
}

/** Reads a conversation's events after a cursor, in pages, each once; `poke()` when new ones were written. */
class LogFollower {
  stopped = false;
  onError: (err: unknown) => void = () => undefined;
  private busy = false;
  private again = false;

  constructor(
    private readonly log: WebLog,
    private readonly conversationId: string,
    private last: number,
    /** May return a promise (the SSE stream waits for the socket to drain): the next event waits for it. */
    private readonly onEvent: (e: WebEvent) => void | Promise<void>,
    private readonly pageSize = 200,
  ) {}

  async poke(): Promise<void> {
    if (this.busy) return void (this.again = true);
    this.busy = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const page = await this.log.after(this.conversationId, this.last, this.pageSize);
          for (const e of page) {
            if (this.stopped) return;
            this.last = e.id;
            await this.onEvent(e);
          }
          if (page.length < this.pageSize) break;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.onError(err);
    } finally {
      this.busy = false;
    }
  }
}

/**
 * `GET …/events`: replays the conversation's events after `after` (the client's Last-Event-ID), then
 * follows new ones. Each event carries its durable id; progress carries none, so a reconnect resumes
 * after the last real event and shows nothing twice.
 */
export function streamEvents(res: ServerResponse, hub: EventHub, log: WebLog, conversationId: string, after: number): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write("retry: 1000\n\n");
  let closed = false;
  // Backpressure: a client that does not read must not make the host buffer the conversation's history
  // or every live piece. Events wait for the socket to drain (read a few at a time); progress and text
  // pieces that come meanwhile are skipped, and once it drains the latest progress and the text so far
  // (one piece at offset 0) go instead.
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  const follower = new LogFollower(
    log,
    conversationId,
    after,
    (e) => (res.write(`id: ${e.id}\nevent: message\ndata: ${JSON.stringify(e)}\n\n`) ? undefined : drained()),
    8, // a stalled stream holds at most one page of events in memory
  );
  follower.onError = () => res.destroy();
  // Text pieces wait for the replay: then the text so far goes as one piece and later pieces follow it.
  let replayed = false;
  let skipped = false;
  const sendProgress = (p: ProgressView) => {
    if (closed) return;
    if (res.writableNeedDrain) skipped = true;
    else res.write(`event: progress\ndata: ${JSON.stringify(p)}\n\n`);
  };
  const sendDelta = (d: DeltaView) => {
    if (closed || !replayed) return;
    if (res.writableNeedDrain) skipped = true;
    else res.write(`event: delta\ndata: ${JSON.stringify(d)}\n\n`);
  };
  const catchUp = () => {
    if (!skipped || closed || !replayed) return;
    skipped = false;
    const current = hub.current(conversationId);
    if (current) sendProgress(current);
    const text = hub.currentText(conversationId);
    if (text) sendDelta(text);
  };
  res.on("drain", catchUp);
  const unsubscribe = hub.subscribe(conversationId, { written: () => void follower.poke(), progress: sendProgress, delta: sendDelta });
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(": ping\n\n");
  }, 15_000);
  res.on("close", () => {
    closed = true;
    follower.stopped = true;
    clearInterval(heartbeat);
    unsubscribe();
  });
  void follower.poke().then(() => {
    const current = hub.current(conversationId);
    if (current) sendProgress(current);
    replayed = true;
    skipped = false;
    const text = hub.currentText(conversationId);
    if (text) sendDelta(text);
  });
}
