import { afterEach, describe, expect, it } from "vitest";
import { createHarness, echo, replyText, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("scheduling", () => {
  it("runs one turn at a time with a cap of 1: the others wait with positions 1 and 2, and all are answered", async () => {
    h = await createHarness({ responder: (req) => ({ ...echo(req), delayMs: 400 }) });
    const harness = h;
    const sessions = ["q1.foreground", "q2.foreground", "q3.foreground"];
    for (const s of sessions) await harness.admit(s, `hi from ${s}`);
    const sup = harness.supervisor({ maxConcurrentTurns: 1 });
    sup.start();
    // The worker answers a message that starts a turn right after its turn_started, so the hand-off's
    // commit (which deletes the stored item) can follow the turn's start by a moment.
    await waitUntil(
      () => sup.status("q1.foreground").turnRunning && !harness.store.inbound().some((i) => i.sessionId === "q1.foreground"),
      "the first turn, its message handed off",
    );
    expect(sup.status("q1.foreground").queuePosition).toBeNull();
    expect(sup.status("q2.foreground").queuePosition).toBe(1);
    expect(sup.status("q3.foreground").queuePosition).toBe(2);
    // Waiting sessions keep their messages stored.
    expect(harness.store.inbound().map((i) => i.sessionId)).toEqual(["q2.foreground", "q3.foreground"]);

    await waitUntil(() => harness.durableOf("turn_completed").length === 3, "all three replies", 20_000);
    // onActivity runs after the commit that recorded the durable event.
    await waitUntil(() => harness.activity.filter((a) => a.event.type === "turn_completed").length === 3, "activity");
    for (const s of sessions) {
      expect(replyText(harness.durableOf("turn_completed", s)[0]!.event)).toBe(`echo: hi from ${s}`);
    }
    expect(Math.max(...harness.activity.map((a) => a.runningTurns))).toBe(1);
    // Turns never overlap: each turn_started comes after the previous session's turn ended.
    const order = harness.activity
      .filter((a) => a.event.type === "turn_started" || a.event.type === "turn_completed")
      .map((a) => `${a.sessionId}:${a.event.type}`);
    expect(order).toEqual(sessions.flatMap((s) => [`${s}:turn_started`, `${s}:turn_completed`]));
    expect(harness.store.inbound()).toEqual([]);
  });

  it("a message for a session with a running turn is handed off at once, even at the cap", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { hang: true } : echo(req)) });
    const harness = h;
    await harness.admit("p1.foreground", "first");
    const sup = harness.supervisor({ maxConcurrentTurns: 1 });
    sup.start();
    await waitUntil(() => sup.status("p1.foreground").turnRunning, "the first turn");
    await harness.admit("p1.foreground", "second");
    sup.deliver();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply to the second message");
    expect(harness.durableOf("turn_superseded")).toHaveLength(1);
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: second");
  });

  it("shuts an idle worker down and respawns it for the next message", async () => {
    h = await createHarness();
    const harness = h;
    await harness.admit("i1.foreground", "one");
    const sup = harness.supervisor({ idleShutdownSeconds: 0.5 });
    sup.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "first reply");
    expect(sup.status("i1.foreground").workerRunning).toBe(true);
    await waitUntil(() => !sup.status("i1.foreground").workerRunning, "idle shutdown", 5000);
    expect(harness.logs.some((l) => l.msg === "idle worker shut down")).toBe(true);
    expect(await sup.query("i1.foreground", { view: "live_state" })).toBeNull();

    await harness.admit("i1.foreground", "two");
    sup.deliver();
    await waitUntil(() => harness.durableOf("turn_completed").length === 2, "second reply");
    expect(replyText(harness.durableOf("turn_completed")[1]!.event)).toBe("echo: two");
    expect(harness.launches).toEqual(["i1.foreground", "i1.foreground"]);
    expect(sup.status("i1.foreground")).toMatchObject({ restarts: 0, lastError: null });
  });

  it("answers cancel, continue and query sensibly when no worker runs", async () => {
    h = await createHarness();
    const sup = h.supervisor();
    sup.start();
    const cancel = await sup.cancel("none.foreground");
    expect(cancel.accepted).toBe(false);
    expect(cancel.reason).toMatch(/^nothing to cancel/);
    expect(await sup.query("none.foreground", { view: "live_state" })).toBeNull();
    expect(sup.status("none.foreground")).toEqual({ workerRunning: false, turnRunning: false, queuePosition: null, restarts: 0, lastError: null });
    expect(h.launches).toEqual([]);
    const cont = await sup.continue("none.foreground");
    expect(cont).toMatchObject({ accepted: false, reason: expect.stringMatching(/nothing to continue/) });
  });

  it("gives up on a worker that cannot start, keeps its messages, and tries again for a new message", async () => {
    h = await createHarness();
    const harness = h;
    await harness.admit("bad.foreground", "hello?");
    let launches = 0;
    const sup = harness.supervisor({
      restart: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 3 },
      launch: async () => {
        launches++;
        throw new Error("no such conversation");
      },
    });
    sup.start();
    await waitUntil(() => /gave up/.test(sup.status("bad.foreground").lastError ?? ""), "give up");
    expect(launches).toBe(3);
    expect(harness.store.inbound()).toHaveLength(1);
    expect(sup.status("bad.foreground").lastError).toMatch(/no such conversation/);
    // Another session is not affected; a new message for this one tries again.
    await harness.admit("bad.foreground", "again");
    sup.deliver();
    await waitUntil(() => launches > 3, "a new attempt");
  });
});
