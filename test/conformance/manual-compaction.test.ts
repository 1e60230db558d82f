// session/compact (the chat's /compact): a resting session's history is summarised now, whatever the threshold; the
// outcome is one durable `manual_compaction` event (compacted, skipped or failed); refused while a turn runs or
// waits for /continue; stopped by session/cancel without an event.
import { describe, expect, it } from "vitest";
import { COMPACTION_STOPPED, type QueryResult } from "@starling/protocol";
import { newEnv, transcript, userMessage } from "./harness.js";
import { isSummaryRequest, toolThenAnswer } from "./model-script.js";

const longText = (n: number) => `Please do task number ${n}. ` + "Some context about the task that makes it longer. ".repeat(4);

describe.concurrent("session/compact", () => {
  it("summarises the older part now, keeps the recent part, sends one durable outcome, and survives a restart", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: toolThenAnswer() });
    // A threshold the conversation never reaches: only the request compacts it.
    const compression = { thresholdTokens: 1_000_000, retainRecentTokens: 20 };
    const w = await start({ init: { compression }, autoAck: false });
    for (const [i, id] of ["m1", "m2", "m3"].entries()) {
      await w.client.enqueue(userMessage(id, longText(i + 1)));
      await w.waitForEvent("turn_completed", (e) => e.turnId === i + 1);
    }
    expect(w.eventsOf("compacted")).toEqual([]);
    const before = await transcript(w.client, "current");

    expect(await w.client.compact({})).toEqual({ accepted: true });
    const outcome = await w.waitForEvent("manual_compaction");
    expect(outcome).toMatchObject({ outcome: "compacted" });
    expect(outcome.summarisedMessages).toBeGreaterThan(0);
    expect(outcome.tokensAfter).toBeLessThan(outcome.tokensBefore);
    expect(w.eventsOf("compacted")).toEqual([]); // a turn's compaction event is not sent for it
    expect(fake.requests.filter(isSummaryRequest)).toHaveLength(1);
    const after = await transcript(w.client, "current");
    expect(after[0]).toMatchObject({ role: "context" });
    expect(after.length).toBeLessThan(before.length);
    expect(after.at(-1)).toEqual(before.at(-1));
    expect(stateOf(await w.client.query({ view: "live_state" }))).toBe("idle");

    // Nothing left to summarise: refused in the answer, with the reason (no event).
    expect(await w.client.compact({})).toEqual({ accepted: false, reason: expect.stringMatching(/^the history is short \(≈\d+ tokens\)/) });

    // The outcome is durable: a new worker re-sends what the host never acknowledged, and keeps the compaction.
    await w.client.close();
    const again = await start({ init: { compression }, autoAck: false });
    expect(await transcript(again.client, "current")).toEqual(after);
    await until(() => again.eventsOf("manual_compaction").length === 1);
    expect(again.eventsOf("manual_compaction").map((e) => e.outcome)).toEqual(["compacted"]);
  });

  it("is refused while a turn runs; a message sent during a compaction waits for it; /cancel stops one with no outcome event", async (ctx) => {
    let holdSummary: (() => void) | null = null;
    const { fake, start } = await newEnv(ctx, {
      responder: (req) => {
        if (isSummaryRequest(req)) return fake.requests.filter(isSummaryRequest).length === 1 ? { hang: true } : { holdUntil: new Promise<void>((r) => (holdSummary = r)), text: "SUMMARY: held" };
        return { delayMs: 300, text: "answered" };
      },
    });
    const w = await start({ init: { compression: { thresholdTokens: 1_000_000, retainRecentTokens: 10 } } });
    await w.client.enqueue(userMessage("a", longText(1)));
    await w.waitForEvent("turn_started", (e) => e.turnId === 1);
    expect(await w.client.compact({})).toEqual({ accepted: false, reason: "a turn is running (send /compact once it has ended)" });
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    await w.client.enqueue(userMessage("b", longText(2)));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);

    // The first summary request hangs: /cancel stops it, the history stays, and no outcome is sent.
    const sent = fake.requests.length;
    expect(await w.client.compact({})).toEqual({ accepted: true });
    await fake.waitForRequests(sent + 1);
    expect(stateOf(await w.client.query({ view: "live_state" }))).toBe("compacting");
    expect(await w.client.compact({})).toEqual({ accepted: false, reason: "a compaction is already running" });
    expect(await w.client.cancel({})).toEqual({ accepted: false, reason: COMPACTION_STOPPED });
    await until(async () => stateOf(await w.client.query({ view: "live_state" })) === "idle");
    expect((await transcript(w.client, "current"))[0]?.role).not.toBe("context");

    // A message during the next compaction waits for it, then runs on the compacted history.
    expect(await w.client.compact({})).toEqual({ accepted: true });
    await until(() => holdSummary !== null);
    await w.client.enqueue(userMessage("c", "and now?"));
    expect(w.eventsOf("turn_started").map((e) => e.turnId)).toEqual([1, 2]);
    holdSummary!();
    expect(await w.waitForEvent("manual_compaction")).toMatchObject({ outcome: "compacted" });
    await w.waitForEvent("turn_completed", (e) => e.turnId === 3);
    expect(w.eventsOf("manual_compaction")).toHaveLength(1);
  });

  it("STARLING_CRASH_AT=compaction: a worker killed right after storing a requested compaction has it, and its outcome is sent by the next one", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: toolThenAnswer() });
    const compression = { thresholdTokens: 1_000_000, retainRecentTokens: 20 };
    const first = await start({ init: { compression }, env: { STARLING_CRASH_AT: "compaction" } });
    for (const [i, id] of ["a", "b"].entries()) {
      await first.client.enqueue(userMessage(id, longText(i + 1)));
      await first.waitForEvent("turn_completed", (e) => e.turnId === i + 1);
    }
    expect(await first.client.compact({})).toEqual({ accepted: true });
    expect((await first.exited()).code).not.toBe(0);
    expect(first.eventsOf("manual_compaction")).toEqual([]); // died before it could send it
    const next = await start({ init: { compression } });
    expect((await transcript(next.client, "current"))[0]).toMatchObject({ role: "context" });
    expect(await next.waitForEvent("manual_compaction")).toMatchObject({ outcome: "compacted" });
  });

  it("a worker shut down during a compaction stores that it was stopped: the next worker sends it, the history unchanged", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: (req) => (isSummaryRequest(req) ? { hang: true } : { text: "ok" }) });
    const compression = { thresholdTokens: 1_000_000, retainRecentTokens: 10 };
    const w = await start({ init: { compression }, autoAck: false });
    for (const [i, id] of ["a", "b"].entries()) {
      await w.client.enqueue(userMessage(id, longText(i + 1)));
      await w.waitForEvent("turn_completed", (e) => e.turnId === i + 1);
    }
    const sent = fake.requests.length;
    expect(await w.client.compact({})).toEqual({ accepted: true });
    await fake.waitForRequests(sent + 1);
    expect((await w.client.close()).code).toBe(0); // a graceful shutdown (a changed setting, /new, the host stopping)
    const next = await start({ init: { compression }, autoAck: false });
    expect(await next.waitForEvent("manual_compaction")).toMatchObject({ outcome: "failed", reason: expect.stringContaining("stopped before it finished") });
    expect((await transcript(next.client, "current"))[0]?.role).not.toBe("context");
  });

  it("a failed summary request is a failed outcome; a turn waiting for /continue refuses it", async (ctx) => {
    let failTurns = false;
    const { start } = await newEnv(ctx, {
      responder: (req) => (isSummaryRequest(req) ? { status: 400, errorBody: { error: { message: "summaries are off today" } } } : failTurns ? { status: 500 } : { text: "ok" }),
    });
    const w = await start({ init: { compression: { thresholdTokens: 1_000_000, retainRecentTokens: 10 } } });
    for (const id of ["a", "b"]) {
      await w.client.enqueue(userMessage(id, longText(1)));
      await w.waitForEvent("turn_completed", (e) => e.turnId === (id === "a" ? 1 : 2));
    }
    expect(await w.client.compact({})).toEqual({ accepted: true });
    const failed = await w.waitForEvent("manual_compaction");
    expect(failed).toMatchObject({ outcome: "failed", summarisedMessages: 0, reason: expect.stringContaining("summaries are off today") });
    expect(failed.tokensAfter).toBe(failed.tokensBefore);
    expect((await transcript(w.client, "current"))[0]?.role).not.toBe("context");

    failTurns = true;
    await w.client.enqueue(userMessage("c", "fail please"));
    await w.waitForEvent("turn_failed", (e) => e.turnId === 3);
    expect(await w.client.compact({})).toEqual({ accepted: false, reason: "turn 3 is unfinished (send /continue to finish it first)" });
  });
});

async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 20));
}

function stateOf(view: QueryResult): string {
  return view.view === "live_state" ? view.state : view.view;
}
