// A stored message the worker already has (the host was killed between the worker's ack of the
// hand-off and the `handoff` write) is handed off again after a restart and is dropped there as a
// duplicate. If that hand-off cannot finish before the recovered turn is decided (here: its write
// fails, so the item stays stored), the item is no new input: the recovered turn must still be
// continued, not left waiting for the user's next message (a soak finding on a loaded machine).
// The second `handoff` write (the first after the restart) and the two after it fail. Set before
// anything of this process reads it: the fail point reads the variable once.
process.env["STARLING_FAIL_AT"] = "handoff:2:3";

import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createHarness, echo, replyText, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
// A test process may be reused for another file: leave no fault behind.
afterAll(() => {
  delete process.env["STARLING_FAIL_AT"];
});

describe("recovery with a stale stored item", () => {
  it("continues the recovered turn when the only pending item turns out to be a duplicate", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { delayMs: 3000, text: "too late" } : echo(req)) });
    const harness = h;
    const first = await harness.admit("r7.foreground", "long question");
    const sup = harness.supervisor({ restart: { initialDelayMs: 300 } });
    sup.start();
    await harness.fake.waitForRequests(1, 45_000);
    // Handed off: the worker has it (its answer to a turn-starting enqueue follows the turn's start, so the
    // `handoff` write may come just after the model request).
    await waitUntil(() => harness.store.inbound().length === 0, "the first hand-off");
    process.kill(harness.workerPid("r7.foreground"), "SIGKILL");
    // What a host killed before its `handoff` write would find: the same message still stored.
    await harness.admit("r7.foreground", "long question", first.messageId);
    sup.deliver();

    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the recovered turn's reply");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: long question");
    expect(harness.logs.some((l) => l.msg === "hand-off failed; the message stays stored and is re-sent")).toBe(true);
    await waitUntil(() => harness.store.inbound().length === 0, "the duplicate to be dropped");
  });
});
