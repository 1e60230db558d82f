import { afterEach, describe, expect, it } from "vitest";
import { createHarness, echo, replyText, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("fair turn slots", () => {
  it("a busy session yields its slot after a turn: a waiting session runs before its later messages (round robin)", async () => {
    h = await createHarness({ responder: (req) => ({ ...echo(req), delayMs: 300 }) });
    const harness = h;
    await harness.admit("busy.foreground", "a-1");
    const sup = harness.supervisor({ maxConcurrentTurns: 1 });
    sup.start();
    await waitUntil(() => sup.status("busy.foreground").turnRunning, "the busy session's first turn");

    await harness.admit("other.foreground", "b-1");
    sup.deliver();
    await waitUntil(() => sup.status("other.foreground").queuePosition === 1, "the other session waiting for the slot");
    await harness.admit("busy.foreground", "a-2");
    await harness.admit("busy.foreground", "a-3");
    sup.deliver();

    await waitUntil(() => harness.durableOf("turn_completed").length === 3, "three answers", 20_000);
    await waitUntil(() => harness.activity.filter((a) => a.event.type === "turn_completed").length === 3, "activity");
    const started = harness.activity.filter((a) => a.event.type === "turn_started").map((a) => a.sessionId);
    // a-2 and a-3 did not interrupt the busy session's first turn (they were held back while the
    // other session waited); the other session ran next; then the held-back messages (the second
    // may supersede the turn the first started: that is the worker's usual interrupt).
    expect(started.slice(0, 2)).toEqual(["busy.foreground", "other.foreground"]);
    expect(new Set(started.slice(2))).toEqual(new Set(["busy.foreground"]));
    const busyAnswers = harness.durableOf("turn_completed", "busy.foreground").map((d) => replyText(d.event));
    expect(busyAnswers).toEqual(["echo: a-1", "echo: a-3"]);
    expect(harness.store.inbound()).toEqual([]);
  });
});
