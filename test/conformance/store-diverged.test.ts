// A write LevelDB reported as failed that still reached the journal (an fsync that failed after the
// write): the worker's reopen finds counters it never saw stored, so memory and journal diverged. The
// worker says so (runtime_crashed) and exits 1; a new worker reloads the journal, write included.
import { expect, it } from "vitest";
import { newEnv, transcript, userMessage } from "./harness.js";

it("a write reported as failed that reached the journal: runtime_crashed, exit 1, and a new worker has it", async (ctx) => {
  const { start } = await newEnv(ctx, { responder: () => ({ text: "answered" }) });
  const w = await start({ env: { STARLING_FAIL_AFTER_WRITE_AT: "enqueue" } });
  const refused = await w.client.enqueue(userMessage("m1", "hello")).then(
    () => null,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(Error);
  const crashed = await w.waitForEvent("runtime_crashed");
  expect(crashed.message).toMatch(/holds a write this worker saw fail/);
  expect((await w.exited()).code).toBe(1);
  expect(w.stderr.join("")).toMatch(/a session database write failed; retrying/);

  const again = await start({});
  expect(again.init.queuedInputs).toBe(1);
  await again.waitForEvent("turn_completed");
  expect(await again.client.enqueue(userMessage("m1", "hello"))).toEqual({ accepted: true, duplicate: true });
  expect((await transcript(again.client)).map((m) => m.messageId ?? m.role)).toEqual(["m1", "assistant"]);
}, 60_000);
