// A session nobody can /continue (a cron task's: a chat's /continue goes to its foreground). Once a
// recovered turn's automatic continues are used up, the turn is ended for good in the worker (so it does
// not wait forever), the host is told once (turnAbandoned), and the next message is answered as usual.
import { afterEach, expect, it } from "vitest";
import { markResume, offeredKey } from "../../src/sessions/recovery.js";
import { createHarness, replyText, sleep, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const unattended = () => true;

it("ends a recovered turn whose automatic continues are used up; the next message gets its own answer", async () => {
  const SESSION = "k1.background.0001";
  // Life 1 dies when the turn starts; life 2 when the automatic continue resumes it; life 3 reports it.
  h = await createHarness({
    workerEnv: (_, n) => (n === 1 ? { STARLING_CRASH_AT: "turn_start" } : n === 2 ? { STARLING_CRASH_AT: "turn_resume" } : {}),
  });
  const harness = h;
  await harness.admit(SESSION, "fragile run");
  const sup = harness.supervisor({ maxAutoContinues: 1, unattended });
  sup.start();
  await waitUntil(() => harness.durableOf("turn_recovered").length === 2, "two recoveries");
  const [first, second] = harness.durableOf("turn_recovered");
  expect(first!.ctx).toMatchObject({ autoContinued: true, turnAbandoned: false });
  expect(second!.ctx).toMatchObject({ autoContinued: false, autoContinueExhausted: true, turnAbandoned: true });

  // The worker ends the turn: turn_cancelled with the reason, and nothing is left to continue.
  await waitUntil(() => harness.durableOf("turn_cancelled", SESSION).length === 1, "the turn ended by the worker");
  expect(harness.durableOf("turn_cancelled", SESSION)[0]!.event).toMatchObject({
    turnId: second!.event.turnId,
    reason: "given up: interrupted by worker restarts after 1 automatic continue",
  });
  expect(await sup.continue(SESSION)).toMatchObject({ accepted: false, reason: expect.stringMatching(/nothing to continue/) });
  expect(harness.fake.requests).toHaveLength(0); // both lives died before the model was asked

  // The next message (the task's next run) is a new turn and is answered.
  await harness.admit(SESSION, "next run");
  await waitUntil(() => harness.durableOf("turn_completed", SESSION).length === 1, "the next run's answer");
  expect(replyText(harness.durableOf("turn_completed", SESSION)[0]!.event)).toBe("echo: next run");
  expect(harness.durableOf("turn_recovered", SESSION).filter((r) => r.ctx.autoContinueExhausted)).toHaveLength(1);
});

it("a start that finds such a turn already reported (its worker died before ending it) ends it without a second notice", async () => {
  const SESSION = "k2.background.0001";
  // The first model call never answers: the turn is running when its worker is killed.
  h = await createHarness({ responder: (_req, index) => (index === 0 ? { delayMs: 600_000, text: "late" } : { text: "never asked" }) });
  const harness = h;
  await harness.admit(SESSION, "a long run");
  // A host from before this rule (or one whose worker died before the request): the notice is recorded, the turn still waits.
  const a = harness.supervisor({ maxAutoContinues: 0 });
  a.start();
  await waitUntil(() => harness.fake.requests.length === 1, "the model call");
  process.kill(harness.workerPid(SESSION), "SIGKILL");
  await waitUntil(() => harness.store.get(offeredKey(SESSION, 1)) !== undefined, "the notice recorded");
  await a.stop(5000);
  expect(harness.durableOf("turn_cancelled", SESSION)).toHaveLength(0);

  await harness.store.commit(null, (tx) => markResume(harness.store, tx, SESSION));
  const b = harness.supervisor({ maxAutoContinues: 0, unattended });
  b.start();
  await waitUntil(() => harness.durableOf("turn_cancelled", SESSION).length === 1, "the turn ended at start");
  expect(harness.durableOf("turn_recovered", SESSION).filter((r) => r.ctx.autoContinueExhausted)).toHaveLength(1);
  await sleep(200);
  expect(harness.fake.requests).toHaveLength(1); // never continued
  await b.stop(5000);
});
