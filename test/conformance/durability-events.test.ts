// Event seqs and the durable outbox: unacknowledged delivery events are re-sent with the same seq after a restart.
import { describe, expect, it } from "vitest";
import { DURABLE_EVENT_TYPES, type SessionEventParams } from "@starling/protocol";
import { liveState, newEnv, userMessage } from "./harness.js";
import { toolThenAnswer } from "./model-script.js";

const isDurable = (e: SessionEventParams) => (DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type);

describe.concurrent("event seq and durable outbox", () => {
  it("seqs start at 1 and increase by one per event, across turns", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: toolThenAnswer() });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "one"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    await w.client.enqueue(userMessage("m2", "two"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    const seqs = w.events.map((e) => e.seq);
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const live = await liveState(w.client);
    expect(live.state).toBe("idle");
  });

  it("an unacknowledged turn_completed is re-sent with the same seq after SIGKILL; once acknowledged it is not", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: toolThenAnswer() });
    const w = await start({ autoAck: false });
    await w.client.enqueue(userMessage("m1", "hello"));
    const done = await w.waitForEvent("turn_completed");
    const lastSeq = w.events.at(-1)!.seq;
    expect(lastSeq).toBe(done.seq);
    w.client.kill("SIGKILL");
    await w.exited();

    const second = await start({ autoAck: false });
    expect(second.init).toMatchObject({ lastEventSeq: lastSeq, lastAckedSeq: 0, unfinishedTurn: null });
    const resent = await second.waitForEvent("turn_completed");
    expect(resent).toEqual(done);
    // A query is answered once the replay is out and the actor started, on the same stream as the events:
    // an event replayed again or sent by the start comes before the answer.
    expect((await liveState(second.client)).state).toBe("idle");
    // Exactly the durable events of the first run, in order, and nothing else.
    expect(second.events).toEqual(w.events.filter(isDurable));

    expect(await second.client.ackEvents({ upTo: done.seq })).toEqual({ lastAckedSeq: done.seq });
    second.client.kill("SIGKILL");
    await second.exited();

    const third = await start({ autoAck: false });
    expect(third.init).toMatchObject({ lastEventSeq: lastSeq, lastAckedSeq: done.seq });

    // New events continue above the last seq ever emitted; an acknowledged event re-sent would come before them.
    await third.client.enqueue(userMessage("m2", "again"));
    const next = await third.waitForEvent("turn_completed");
    expect(third.events[0]!.seq).toBe(lastSeq + 1);
    expect(third.events.map((e) => e.seq)).toEqual(third.events.map((_, i) => lastSeq + 1 + i));
    expect(next.turnId).toBe(2);
  });

  it("a progress event sent just before a clean shutdown keeps its seq: the next start never hands it out again", async (ctx) => {
    // Progress events write no batch of their own; their seq is stored with the next batch or at close.
    // A tool step first: the turn's second model call is announced by a progress event (the first one by turn_started).
    const { start, fake } = await newEnv(ctx, { replies: [{ toolCalls: [{ name: "file_read", arguments: { file_path: "notes.txt" } }] }, { hang: true }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "one"));
    await w.waitForEvent("progress", (e) => e.phase === "calling_model" && e.step === 2);
    await fake.waitForRequests(2);
    expect(w.events.at(-1)!.event.type).toBe("progress");
    expect((await w.client.close()).code).toBe(0);
    // Every event that left the first worker, up to its exit (the shutdown may add some).
    const lastSent = Math.max(...w.events.map((e) => e.seq));

    const again = await start();
    expect(again.init.lastEventSeq).toBeGreaterThanOrEqual(lastSent);
    expect(again.init.unfinishedTurn).toEqual({ turnId: 1, reason: "crash" });
    await again.waitForEvent("turn_recovered");
    expect(again.events.map((e) => e.seq).filter((seq) => seq <= lastSent)).toEqual([]);
  });

  it("a journal left at `enqueue` (as a power failure after the unsynced `turn_start` leaves it) reports the lost turn_started's seq and reuses it", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "first" }, { text: "second" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "one"));
    await w.waitForEvent("turn_completed");
    await w.client.close();
    const doneSeq = w.events.find((e) => e.event.type === "turn_completed")!.seq;

    // Killed right after m2 is stored, before its turn is started (STARLING_CRASH_AT=enqueue).
    const dying = await start({ env: { STARLING_CRASH_AT: "enqueue" } });
    await dying.client.enqueue(userMessage("m2", "two")).catch(() => undefined);
    expect((await dying.exited()).signal).toBe("SIGKILL");

    const again = await start();
    // A host may have processed turn 2's turn_started (seq doneSeq + 1) before the power failed.
    expect(again.init).toMatchObject({ lastEventSeq: doneSeq + 1, queuedInputs: 1, unfinishedTurn: null });
    const started = await again.waitForEvent("turn_started");
    expect(started).toMatchObject({ turnId: 2, messageIds: ["m2"] });
    expect(again.events.find((e) => e.event.type === "turn_started")!.seq).toBe(doneSeq + 1);
    await again.waitForEvent("turn_completed");
  });

  it("a partial ack re-sends only what is above it; acks are clamped to the last emitted seq and never go back", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "first" }, { status: 400 }] });
    const w = await start({ autoAck: false });
    await w.client.enqueue(userMessage("m1", "one"));
    const first = await w.waitForEvent("turn_completed");
    await w.client.enqueue(userMessage("m2", "two"));
    const failed = await w.waitForEvent("turn_failed");
    expect(failed.canContinue).toBe(false);
    expect(await w.client.ackEvents({ upTo: first.seq })).toEqual({ lastAckedSeq: first.seq });
    expect(await w.client.ackEvents({ upTo: 1 })).toEqual({ lastAckedSeq: first.seq });
    await w.client.close();

    const again = await start({ autoAck: false });
    expect(again.init.lastAckedSeq).toBe(first.seq);
    const resent = await again.waitForEvent("turn_failed");
    expect(resent).toEqual(failed);
    expect((await liveState(again.client)).state).toBe("idle"); // answered after the replay (see above)
    expect(again.events.map((e) => e.seq)).toEqual([failed.seq]);
    const lastEventSeq = again.init.lastEventSeq;
    expect(await again.client.ackEvents({ upTo: lastEventSeq + 1000 })).toEqual({ lastAckedSeq: lastEventSeq });
  });

  it("an acknowledgement carried by session/enqueue (ackUpTo) is stored with the message, a duplicate's too, and answered with lastAckedSeq", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "first" }, { text: "second" }] });
    const w = await start({ autoAck: false });
    expect(await w.client.enqueue(userMessage("m1", "one"))).toEqual({ accepted: true, duplicate: false });
    const first = await w.waitForEvent("turn_completed");
    expect(await w.client.enqueue({ ...userMessage("m2", "two"), ackUpTo: first.seq })).toEqual({ accepted: true, duplicate: false, lastAckedSeq: first.seq });
    const second = await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    const lastSeq = w.events.at(-1)!.seq;
    // A re-sent message (the host lost the answer) still carries it; clamped to the last seq emitted.
    expect(await w.client.enqueue({ ...userMessage("m2", "two"), ackUpTo: lastSeq + 50 })).toEqual({ accepted: true, duplicate: true, lastAckedSeq: lastSeq });
    expect(second.seq).toBeLessThanOrEqual(lastSeq);
    w.client.kill("SIGKILL");
    await w.exited();

    const again = await start({ autoAck: false });
    expect(again.init).toMatchObject({ lastEventSeq: lastSeq, lastAckedSeq: lastSeq, queuedInputs: 0 });
    expect((await liveState(again.client)).state).toBe("idle"); // answered after the replay (see above)
    expect(again.events).toEqual([]);
  });

  it("a second restart without acks re-sends the same events again (the host ignores seqs it has seen)", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "x" }] });
    const w = await start({ autoAck: false });
    await w.client.enqueue(userMessage("m1", "one"));
    const done = await w.waitForEvent("turn_completed");
    await w.client.close();
    for (let i = 0; i < 2; i++) {
      const again = await start({ autoAck: false });
      expect(await again.waitForEvent("turn_completed")).toEqual(done);
      await again.client.close();
    }
  });
});
