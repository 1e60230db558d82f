import { afterEach, describe, expect, it } from "vitest";
import { createHarness, replyText, sleep, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("hand-off and event processing", () => {
  it("hands an inbound item off once and deletes it only after the enqueue is acknowledged", async () => {
    h = await createHarness();
    const harness = h;
    const item = await harness.admit("c1.foreground", "hello");
    // Record, at the moment of the hand-off commit, whether the worker already holds the message.
    const points: string[] = [];
    const original = harness.store.commit.bind(harness.store);
    harness.store.commit = ((point, build) => {
      if (point) points.push(point);
      return original(point, build);
    }) as typeof harness.store.commit;

    const sup = harness.supervisor();
    sup.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "turn_completed");

    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: hello");
    expect(harness.store.inbound()).toEqual([]);
    expect(points.filter((p) => p === "handoff")).toHaveLength(1);
    expect(points.indexOf("handoff")).toBeLessThan(points.indexOf("event_processed"));
    expect(harness.fake.requests).toHaveLength(1);

    const page = await sup.query("c1.foreground", { view: "transcript_page" });
    expect(page?.view).toBe("transcript_page");
    const users = page?.view === "transcript_page" ? page.messages.filter((m) => m.role === "user") : [];
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ messageId: item.messageId });

    // Recorded (onDurableEvent) inside the event_processed commit's build: wait for that batch to be durable.
    await waitUntil(() => harness.store.processedSeq("c1.foreground") > 0, "the processed seq stored");
    expect(harness.activity.map((a) => a.event.type)).toContain("turn_started");
    await waitUntil(() => !sup.status("c1.foreground").turnRunning, "turn to end");
    expect(sup.status("c1.foreground")).toMatchObject({ workerRunning: true, turnRunning: false, queuePosition: null, restarts: 0, lastError: null });
    expect(sup.runningTurns()).toBe(0);
  });

  it("re-sends an unacknowledged item from a new supervisor on the same store; the worker answers once", async () => {
    h = await createHarness();
    const harness = h;
    await harness.admit("c2.foreground", "only once");
    // Supervisor 1 "crashes" between the worker's acknowledgement and the hand-off commit.
    harness.store.commit = ((point, build) =>
      point === "handoff"
        ? Promise.reject(new Error("simulated host crash before the hand-off commit"))
        : HostStoreCommit(harness)(point, build)) as typeof harness.store.commit;
    const sup1 = harness.supervisor();
    sup1.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "turn_completed from the first supervisor");
    expect(harness.store.inbound()).toHaveLength(1);
    await sup1.stop(3000);
    delete (harness.store as { commit?: unknown }).commit; // back to the prototype's commit

    const sup2 = harness.supervisor();
    sup2.start();
    await waitUntil(() => harness.store.inbound().length === 0, "the re-sent item to be acknowledged");
    await sleep(500);
    expect(harness.fake.requests).toHaveLength(1);
    expect(harness.durableOf("turn_completed")).toHaveLength(1);
    const page = await sup2.query("c2.foreground", { view: "transcript_page" });
    const users = page?.view === "transcript_page" ? page.messages.filter((m) => m.role === "user") : [];
    expect(users).toHaveLength(1);
  });

  it("processes turn_completed once when the worker is killed after sending it but before the ack", async () => {
    let killed = false;
    h = await createHarness({
      onDurable: (record) => {
        if (record.event.type === "turn_completed" && !killed) {
          killed = true;
          process.kill(h!.workerPid(record.sessionId), "SIGKILL");
        }
      },
    });
    const harness = h;
    await harness.admit("c3.foreground", "deliver me once");
    const sup = harness.supervisor();
    sup.start();
    await waitUntil(() => killed, "the kill");
    // The kill happens while the commit is built: wait until its seq is durable before reading it.
    await waitUntil(() => harness.store.processedSeq("c3.foreground") > 0, "the turn_completed seq stored");
    const seq = harness.store.processedSeq("c3.foreground");
    // The turn's end said the worker rests, so its slot is released without asking it and the killed
    // worker starts again for the next message (as a worker that died while idle does). The restarted
    // worker re-sends the unacknowledged event with the same seq; it is only acknowledged.
    await waitUntil(() => sup.status("c3.foreground").restarts === 1, "the exit noticed");
    await harness.admit("c3.foreground", "second");
    sup.deliver();
    await waitUntil(
      () => harness.logs.some((l) => l.msg === "event already processed; acknowledged again" && l.seq === seq),
      "the re-sent event",
    );
    await waitUntil(() => harness.durableOf("turn_completed").length === 2, "second reply");
    // The record is made while the commit is built: wait for its seq to be durable too.
    await waitUntil(() => harness.store.processedSeq("c3.foreground") > seq, "the second reply's seq stored");
    expect(sup.status("c3.foreground").restarts).toBe(1);
    const completed = harness.durableOf("turn_completed");
    expect(completed.map((r) => replyText(r.event))).toEqual(["echo: deliver me once", "echo: second"]);
    expect(harness.fake.requests).toHaveLength(2);
  });

  it("delivers a reply stored by a worker that crashed before sending it (STARLING_CRASH_AT=turn_end)", async () => {
    h = await createHarness({ workerEnv: (_, n) => (n === 1 ? { STARLING_CRASH_AT: "turn_end" } : {}) });
    const harness = h;
    await harness.admit("c4.foreground", "crash at the end");
    const sup = harness.supervisor();
    sup.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the re-sent turn_completed");
    await sleep(300);
    expect(harness.durableOf("turn_completed")).toHaveLength(1);
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: crash at the end");
    expect(harness.fake.requests).toHaveLength(1);
    expect(sup.status("c4.foreground").restarts).toBe(1);
    expect(harness.launches).toHaveLength(2);
  });
});

function HostStoreCommit(harness: Harness) {
  return Object.getPrototypeOf(harness.store).commit.bind(harness.store) as Harness["store"]["commit"];
}
