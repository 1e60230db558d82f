// restartWhenResting: a worker started with a setting that changed since (a cron task's model) stops as
// soon as it rests, through the idle shutdown's checks: a running turn finishes first, and the next
// message starts a new worker.
import { afterEach, expect, it } from "vitest";
import { alive, createHarness, replyText, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A session whose worker is marked stale (restartWhenResting) while its first run is in its 800 ms model call. */
async function staleDuringRun(SESSION: string): Promise<{ harness: Harness; first: number }> {
  h = await createHarness({ responder: (req, i) => ({ delayMs: i === 0 ? 800 : 0, text: `answer ${i}` }) });
  const harness = h;
  await harness.admit(SESSION, "a run");
  const sup = harness.supervisor({ idleShutdownSeconds: 600 });
  sup.start();
  await waitUntil(() => harness.fake.requests.length === 1, "the model call");
  const first = harness.workerPid(SESSION);
  sup.restartWhenResting(SESSION);
  return { harness, first };
}

it("a running turn finishes first; then the worker stops, and the next message gets a new one", async () => {
  const SESSION = "rs1.background.0001";
  const { harness, first } = await staleDuringRun(SESSION);
  await waitUntil(() => harness.durableOf("turn_completed", SESSION).length === 1, "the run's answer");
  expect(replyText(harness.durableOf("turn_completed", SESSION)[0]!.event)).toBe("answer 0");
  await waitUntil(() => !alive(first), "the worker stopped once it rested (idle shutdown is 600 s)");
  expect(harness.logs.some((l) => l.msg === "worker shut down to restart with changed settings")).toBe(true);

  await harness.admit(SESSION, "the next run");
  await waitUntil(() => harness.durableOf("turn_completed", SESSION).length === 2, "the next answer");
  expect(harness.launches.filter((s) => s === SESSION)).toHaveLength(2);
  expect(harness.workerPid(SESSION)).not.toBe(first);
  expect(harness.durableOf("turn_recovered", SESSION)).toHaveLength(0); // nothing was cut
});

it("a message that comes while the stale worker's run goes on waits for the run's end and goes to a new worker", async () => {
  const SESSION = "rs2.background.0001";
  const { harness, first } = await staleDuringRun(SESSION);
  // The next firing is admitted while the run is in its model call: before, it was handed to the old worker
  // at once and ran there, on the old settings, and only then was the worker restarted.
  await harness.admit(SESSION, "the next run");
  await waitUntil(() => harness.fake.requests.length === 2, "the next run's model call");
  expect(harness.launches.filter((s) => s === SESSION), "the next run had a worker of its own").toHaveLength(2);
  await waitUntil(() => harness.durableOf("turn_completed", SESSION).length === 2, "the next answer");
  expect(harness.durableOf("turn_completed", SESSION).map((d) => replyText(d.event))).toEqual(["answer 0", "answer 1"]);
  expect(harness.workerPid(SESSION)).not.toBe(first);
  expect(alive(first)).toBe(false);
  expect(harness.durableOf("turn_recovered", SESSION)).toHaveLength(0); // nothing was cut
});
