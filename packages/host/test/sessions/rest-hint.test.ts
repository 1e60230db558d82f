// When the host may skip the `live_state` query after a turn: only on what a fresh turn-ending event
// of this worker life said, and never across a request that may have started a turn.
import { describe, expect, it } from "vitest";
import type { SessionEventParams } from "@starling/protocol";
import { RestHint } from "../../src/sessions/rest-hint.js";

const completed = (seq: number, queuedInputs?: number): SessionEventParams => ({
  seq,
  event: { type: "turn_completed", turnId: seq, message: { role: "assistant", content: [{ type: "text", text: "ok" }] }, ...(queuedInputs === undefined ? {} : { queuedInputs }) },
});
const started = (seq: number): SessionEventParams => ({ seq, event: { type: "turn_started", turnId: seq, messageIds: ["m"] } });

describe("RestHint", () => {
  it("knows the worker rests (or starts a queued turn) from a fresh turn end, until a turn-starting request is sent", async () => {
    const hint = new RestHint();
    expect(hint.resting()).toBeNull();
    hint.noteEvent(completed(5, 0), 4);
    expect(hint.resting()).toBe(true);
    await hint.track(async () => "enqueued");
    expect(hint.resting()).toBeNull();

    hint.noteEvent(completed(7, 2), 4);
    expect(hint.resting()).toBe(false);
    hint.noteEvent(started(8), 4);
    expect(hint.resting()).toBeNull();
  });

  it("does not trust a re-sent event, an event before initialize answered, or one from an older worker", () => {
    const hint = new RestHint();
    hint.noteEvent(completed(3, 0), 4); // re-sent after a restart: its value is from the old life
    expect(hint.resting()).toBeNull();
    hint.noteEvent(completed(5, 0), undefined);
    expect(hint.resting()).toBeNull();
    hint.noteEvent(completed(6), 4);
    expect(hint.resting()).toBeNull();
  });

  it("does not trust a turn end that arrived while an enqueue awaited its answer (the worker may have queued it after)", async () => {
    const hint = new RestHint();
    let answer!: () => void;
    const pending = hint.track(() => new Promise<void>((resolve) => (answer = resolve)));
    hint.noteEvent(completed(5, 0), 0);
    answer();
    await pending;
    expect(hint.resting()).toBeNull();
  });

  it("says a continue awaits its answer (a live_state answer may overtake it) until it is answered or failed", async () => {
    const hint = new RestHint();
    expect(hint.awaiting).toBe(false);
    let answer!: () => void;
    const continuing = hint.track(() => new Promise<void>((resolve) => (answer = resolve)));
    expect(hint.awaiting).toBe(true);
    answer();
    await continuing;
    expect(hint.awaiting).toBe(false);
    await hint.track(() => Promise.reject(new Error("worker gone"))).catch(() => undefined);
    expect(hint.awaiting).toBe(false);
  });

  it("a failed request still counts as sent", async () => {
    const hint = new RestHint();
    hint.noteEvent(completed(5, 0), 0);
    await expect(hint.track(() => Promise.reject(new Error("gone")))).rejects.toThrow("gone");
    expect(hint.resting()).toBeNull();
  });
});
