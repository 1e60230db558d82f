import { renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HostKeys } from "../../src/state/host-store.js";
import { createHarness, echo, replyText, sleep, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("recovery", () => {
  it("restarts a worker killed mid-turn, recovers the turn, continues it and delivers the reply", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { delayMs: 3000, text: "too late" } : echo(req)) });
    const harness = h;
    await harness.admit("r1.foreground", "long question");
    const sup = harness.supervisor();
    sup.start();
    await harness.fake.waitForRequests(1, 45_000);
    process.kill(harness.workerPid("r1.foreground"), "SIGKILL");

    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply after recovery");
    const recovered = harness.durableOf("turn_recovered");
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.ctx).toEqual({ sessionId: "r1.foreground", autoContinued: true, autoContinueExhausted: false, turnAbandoned: false });
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: long question");
    expect(harness.durable.map((d) => d.event.type)).toEqual(["turn_recovered", "turn_completed"]);
    const turnId = recovered[0]!.event.turnId;
    expect(harness.store.get(HostKeys.autoContinue("r1.foreground", turnId))).toBe(1);
    const status = sup.status("r1.foreground");
    expect(status.restarts).toBe(1);
    expect(status.lastError).toMatch(/SIGKILL/);
  });

  it("stops continuing automatically after maxAutoContinues and tells the host (autoContinueExhausted)", async () => {
    // Life 1 dies when the turn starts; life 2 when the automatic continue resumes it; life 3 reports it.
    h = await createHarness({
      workerEnv: (_, n) => (n === 1 ? { STARLING_CRASH_AT: "turn_start" } : n === 2 ? { STARLING_CRASH_AT: "turn_resume" } : {}),
    });
    const harness = h;
    await harness.admit("r2.foreground", "fragile");
    const sup = harness.supervisor({ maxAutoContinues: 1 });
    sup.start();
    await waitUntil(() => harness.durableOf("turn_recovered").length === 2, "two recoveries");
    const [first, second] = harness.durableOf("turn_recovered");
    expect(first!.ctx).toMatchObject({ autoContinued: true, autoContinueExhausted: false });
    expect(second!.ctx).toMatchObject({ autoContinued: false, autoContinueExhausted: true });
    expect(second!.event.turnId).toBe(first!.event.turnId);
    await sleep(400);
    expect(harness.durableOf("turn_completed")).toHaveLength(0);
    expect(sup.status("r2.foreground")).toMatchObject({ turnRunning: false, restarts: 2 });
    expect(sup.runningTurns()).toBe(0);

    // The user's /continue resumes it.
    const result = await sup.continue("r2.foreground");
    expect(result.accepted).toBe(true);
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply after /continue");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: fragile");
  });

  it("after a host restart mid-turn, the new supervisor brings the worker back and finishes the turn", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { delayMs: 2000, text: "too late" } : echo(req)) });
    const harness = h;
    await harness.admit("r3.foreground", "survive the restart");
    const sup1 = harness.supervisor();
    sup1.start();
    await harness.fake.waitForRequests(1, 45_000);
    await sup1.stop(3000); // graceful: the worker leaves the turn recoverable
    expect(harness.store.inbound()).toEqual([]);
    expect(harness.durable).toHaveLength(0);

    const sup2 = harness.supervisor();
    sup2.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply from the new supervisor");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: survive the restart");
    expect(harness.durableOf("turn_recovered")[0]!.ctx.autoContinued).toBe(true);
    expect(sup2.status("r3.foreground").restarts).toBe(0);
  });

  it("cancels a running turn and never continues it automatically; /continue resumes it", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { hang: true } : echo(req)) });
    const harness = h;
    await harness.admit("r4.foreground", "cancel me");
    const sup = harness.supervisor();
    sup.start();
    await harness.fake.waitForRequests(1, 45_000);
    await waitUntil(() => sup.status("r4.foreground").turnRunning, "turn running");
    const result = await sup.cancel("r4.foreground", "user /cancel");
    expect(result.accepted).toBe(true);
    await waitUntil(() => harness.durableOf("turn_cancelled").length === 1, "turn_cancelled");
    await sleep(300);
    expect(harness.fake.requests).toHaveLength(1);
    expect(sup.status("r4.foreground").turnRunning).toBe(false);
    expect(await sup.cancel("r4.foreground")).toMatchObject({ accepted: false, reason: expect.stringMatching(/nothing to cancel/) });

    // Restarting the worker (retire + /continue) does not resume a cancelled turn by itself.
    await sup.retire("r4.foreground");
    expect(sup.status("r4.foreground").workerRunning).toBe(false);
    const resumed = await sup.continue("r4.foreground");
    expect(resumed.accepted).toBe(true);
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply after /continue");
    expect(harness.durableOf("turn_recovered")).toHaveLength(0);
    expect(sup.status("r4.foreground").restarts).toBe(0);
  });

  it("a recovered turn with a new message waiting is superseded by it, not continued", async () => {
    h = await createHarness({ responder: (req, i) => (i === 0 ? { delayMs: 3000, text: "too late" } : echo(req)) });
    const harness = h;
    await harness.admit("r5.foreground", "first question");
    const sup = harness.supervisor({ restart: { initialDelayMs: 300 } });
    sup.start();
    await harness.fake.waitForRequests(1, 45_000);
    process.kill(harness.workerPid("r5.foreground"), "SIGKILL");
    await harness.admit("r5.foreground", "never mind, new question");
    sup.deliver();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply to the new message");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: never mind, new question");
    expect(harness.durableOf("turn_recovered")[0]!.ctx).toMatchObject({ autoContinued: true, autoContinueExhausted: false });
    expect(harness.logs.some((l) => l.msg === "continue sent")).toBe(false);
    expect(harness.fake.requests).toHaveLength(2);
  });

  it("after /new archives the session database (same session id), replies of the fresh worker are not mistaken for old ones", async () => {
    h = await createHarness();
    const harness = h;
    await harness.admit("r6.foreground", "old session");
    const sup = harness.supervisor();
    sup.start();
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "first reply");
    // onDurableEvent runs while the commit is built: wait until its seq is durable before reading it.
    await waitUntil(() => harness.store.processedSeq("r6.foreground") > 0, "the first reply's seq stored");
    const oldSeq = harness.store.processedSeq("r6.foreground");
    await sup.retire("r6.foreground");
    const sessions = join(harness.dir, "ws", "r6.foreground", ".starling", "sessions");
    renameSync(join(sessions, "r6.foreground"), join(sessions, "r6.foreground.archived"));

    await harness.admit("r6.foreground", "fresh session");
    sup.deliver();
    await waitUntil(() => harness.durableOf("turn_completed").length === 2, "reply of the fresh session");
    expect(replyText(harness.durableOf("turn_completed")[1]!.event)).toBe("echo: fresh session");
    expect(harness.store.processedSeq("r6.foreground")).toBeLessThanOrEqual(oldSeq);
  });
});
