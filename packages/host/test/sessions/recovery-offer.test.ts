// A recovered turn left waiting with nobody told (its last automatic continue was counted, but its
// worker died before the continue reached it, so no event of the turn is left to carry a notice): the
// next worker start asks the user to /continue, once.
import { afterEach, expect, it } from "vitest";
import { markResume, offeredKey } from "../../src/sessions/recovery.js";
import { createHarness, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SESSION = "c9.foreground";
const offers = (harness: Harness) => harness.durableOf("turn_recovered", SESSION).filter((r) => r.ctx.autoContinueExhausted);

it("asks once for /continue when a start finds a recovered turn that no notice was written for", async () => {
  // The first model call never answers: the turn is running when its worker is killed.
  h = await createHarness({ responder: (_req, index) => (index === 0 ? { delayMs: 600_000, text: "late" } : { text: "resumed" }) });
  const harness = h;
  await harness.admit(SESSION, "a long task");
  const a = harness.supervisor({ maxAutoContinues: 0 });
  a.start();
  await waitUntil(() => harness.fake.requests.length === 1, "the model call");
  process.kill(harness.workerPid(SESSION), "SIGKILL");
  // The restarted worker reports the crashed turn; with no automatic continue allowed the user is asked.
  await waitUntil(() => offers(harness).length === 1, "the notice of the recovery");
  await waitUntil(() => harness.store.get(offeredKey(SESSION, 1)) !== undefined, "the notice recorded");
  await a.stop(5000);

  // The state an older host could leave: the notice's record gone (as when the counted continue was
  // lost with its worker). A host restart brings the session back (its resume mark).
  await harness.store.commit(null, (tx) => {
    tx.del(offeredKey(SESSION, 1));
    markResume(harness.store, tx, SESSION);
  });
  const b = harness.supervisor({ maxAutoContinues: 0 });
  b.start();
  await waitUntil(() => offers(harness).length === 2, "a notice written at start");
  await waitUntil(() => harness.store.get(offeredKey(SESSION, 1)) !== undefined, "the start's notice recorded");
  await b.stop(5000);

  // Another start finds the notice recorded: nothing is repeated.
  await harness.store.commit(null, (tx) => markResume(harness.store, tx, SESSION));
  const c = harness.supervisor({ maxAutoContinues: 0 });
  c.start();
  await waitUntil(() => harness.logs.filter((l) => l.msg === "unfinished turn found at start").length === 2, "the second start's decision");
  await c.stop(5000);
  expect(offers(harness)).toHaveLength(2);
  expect(harness.fake.requests).toHaveLength(1); // never continued automatically
});
