// The answer deadline of the host's requests to a worker (answer-deadline.ts, WorkerHandle.ask): a busy worker
// still answers in time (its turn's model call is asynchronous) and is left alone; a stuck one (SIGSTOPped) is
// killed and its exit handled as a crash: restarted, its turn recovered, counted toward giving up. Real
// supervisor, real workers, real LevelDB; the model is the fake server.
import { afterEach, describe, expect, it } from "vitest";
import { answerWithin, StuckWorkerKilled, WorkerNoAnswer, workerAnswerMsFromEnv } from "../../src/sessions/answer-deadline.js";
import { alive, createHarness, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
const stopped: number[] = [];
afterEach(async () => {
  for (const pid of stopped.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  await h?.close();
  h = undefined;
});

function stop(pid: number): void {
  process.kill(pid, "SIGSTOP");
  stopped.push(pid);
}

describe("STARLING_TEST_WORKER_ANSWER_MS", () => {
  it("is read when set, and a bad value is refused with what to give", () => {
    expect(workerAnswerMsFromEnv({})).toBeUndefined();
    expect(workerAnswerMsFromEnv({ STARLING_TEST_WORKER_ANSWER_MS: "" })).toBeUndefined();
    expect(workerAnswerMsFromEnv({ STARLING_TEST_WORKER_ANSWER_MS: "3000" })).toBe(3000);
    for (const bad of ["3s", "-5", "50", "1e4", "700000", "1.5"]) {
      expect(() => workerAnswerMsFromEnv({ STARLING_TEST_WORKER_ANSWER_MS: bad })).toThrow(/whole number of milliseconds from 100 to 600000/);
    }
  });
});

describe("answerWithin", () => {
  it("passes an answer (or the request's own error) through and does not call onNoAnswer", async () => {
    let called = false;
    const onNoAnswer = async () => void (called = true);
    expect(await answerWithin(Promise.resolve(7), "m", 1000, onNoAnswer)).toBe(7);
    await expect(answerWithin(Promise.reject(new Error("refused")), "m", 1000, onNoAnswer)).rejects.toThrow("refused");
    expect(called).toBe(false);
  });

  it("without an answer runs onNoAnswer first, then rejects with WorkerNoAnswer; the request's late failure is dropped", async () => {
    const order: string[] = [];
    let fail!: (err: Error) => void;
    const request = new Promise<number>((_, reject) => (fail = reject));
    const result = answerWithin(request, "session/query", 200, async () => void order.push("killed"));
    await expect(result).rejects.toSatisfy((err) => err instanceof WorkerNoAnswer && err.message === "the worker did not answer session/query within 0.2 s");
    expect(order).toEqual(["killed"]);
    fail(new Error("worker gone")); // no unhandled rejection (vitest would fail the run)
  });

  it("an answer that came while the host itself was held past the deadline is taken, not counted as none", async () => {
    let answer!: (value: number) => void;
    const request = new Promise<number>((resolve) => (answer = resolve));
    let called = false;
    // Started in a check-phase callback, so the next loop turn runs the (then expired) deadline's timer before
    // the answer, queued meanwhile for that turn's check phase as a frame read from the pipe would come after it.
    const result = await new Promise<Promise<number>>((started) =>
      setImmediate(() => {
        started(answerWithin(request, "session/query", 20, async () => void (called = true)));
        const until = Date.now() + 100;
        while (Date.now() < until); // the host's loop held: the deadline passes meanwhile
        setImmediate(() => answer(42));
      }),
    );
    expect(await result).toBe(42);
    expect(called).toBe(false);
  });
});

describe("a session's worker under the answer deadline", () => {
  it("a worker busy with a turn (its model call slow) answers queries in time and is not killed", async () => {
    const SESSION = "d1.foreground.0001";
    h = await createHarness({ responder: () => ({ delayMs: 4000, text: "slow but fine" }) });
    const harness = h;
    const sup = harness.supervisor({ workerAnswerMs: 2000 });
    sup.start();
    await harness.admit(SESSION, "take your time");
    await waitUntil(() => harness.fake.requests.length === 1, "the model call");
    const pid = harness.workerPid(SESSION);
    const view = await sup.query(SESSION, { view: "live_state" });
    expect(view).toMatchObject({ view: "live_state", turnId: 1 });
    await waitUntil(() => harness.durableOf("turn_completed", SESSION).length === 1, "the turn's answer");
    expect(alive(pid)).toBe(true);
    expect(sup.status(SESSION)).toMatchObject({ restarts: 0, lastError: null });
  });

  it("a stuck worker is killed and restarted as after a crash (its turn recovered), and such kills count toward giving up", async () => {
    const SESSION = "d2.foreground.0001";
    // The model never answers: every life is in its turn's model call when it is stopped.
    h = await createHarness({ responder: () => ({ delayMs: 600_000, text: "never" }) });
    const harness = h;
    const sup = harness.supervisor({ workerAnswerMs: 1000, restart: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 2 } });
    sup.start();
    await harness.admit(SESSION, "a turn that will hang");
    await waitUntil(() => harness.fake.requests.length === 1, "the first life's model call");
    const first = harness.workerPid(SESSION);
    stop(first);
    const err = await sup.query(SESSION, { view: "live_state" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StuckWorkerKilled);
    expect(err).toMatchObject({ turnId: 1, message: "the worker did not answer session/query within 1 s; it was killed" });
    expect(alive(first)).toBe(false);
    expect(sup.status(SESSION)).toMatchObject({ restarts: 1, lastError: "worker stuck: it did not answer session/query within 1 s and was killed" });

    // The next life recovers the turn and continues it by itself (as after a crash): a second model call.
    await waitUntil(() => harness.durableOf("turn_recovered", SESSION).length === 1 && harness.fake.requests.length === 2, "the turn continued by a new worker");
    const second = harness.workerPid(SESSION);
    expect(second).not.toBe(first);
    stop(second);
    await expect(sup.cancel(SESSION, "user /cancel")).rejects.toBeInstanceOf(StuckWorkerKilled);
    // Two failures in a row with no turn ending between them: the session gives up (maxAttempts 2).
    await waitUntil(() => sup.gaveUp(SESSION), "the give-up");
    // The host's own live_state check of the new life may reach the deadline before the /cancel does (seen in a full run).
    expect(sup.status(SESSION).lastError).toMatch(/^gave up after 2 failed worker starts in a row; last: worker stuck: it did not answer session\/(cancel|query) within 1 s and was killed$/);
  });

  it("a request lost because another request's deadline killed the stuck worker is reported as the stuck kill, not as a worker that stopped by itself", async () => {
    const SESSION = "d3.foreground.0001";
    h = await createHarness({ responder: () => ({ delayMs: 600_000, text: "never" }) });
    const harness = h;
    const sup = harness.supervisor({ workerAnswerMs: 1500, restart: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 } });
    sup.start();
    await harness.admit(SESSION, "a turn that will hang");
    await waitUntil(() => harness.fake.requests.length === 1, "the model call");
    stop(harness.workerPid(SESSION));
    // A query first (as /status or the host's own checks send), then the user's /cancel while it waits: the
    // query's deadline kills the worker, and the /cancel's request is lost with it before its own deadline.
    const query = sup.query(SESSION, { view: "live_state" }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const cancel = sup.cancel(SESSION, "user /cancel").catch((e: unknown) => e);
    expect(await query).toBeInstanceOf(StuckWorkerKilled);
    const cancelled = await cancel;
    expect(cancelled).toBeInstanceOf(StuckWorkerKilled);
    expect(cancelled).toMatchObject({ turnId: 1, message: "the worker did not answer session/query within 1.5 s; it was killed" });
  });
});
