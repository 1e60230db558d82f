// A /cancel and a /continue the user was answered for hold across a worker or host that dies before
// carrying them out (sessions/user-intent.ts). Real workers, real store, the fake model.
import { afterEach, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../../../../test/fakes/openai-server.js";
import { createHarness, echo, lastUserText, replyText, sleep, waitUntil, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The first model call for a text takes `slowMs`; later ones (a resumed turn) answer at once. */
function slowFirst(slowMs: number): (req: RecordedRequest) => ScriptedReply {
  const seen = new Set<string>();
  return (req) => {
    const text = lastUserText(req);
    if (seen.has(text)) return echo(req);
    seen.add(text);
    return { delayMs: slowMs, text: `echo: ${text}` };
  };
}

/**
 * One turn slot: `<p>1`'s turn cancelled (its /continue will have to wait for the slot), then `<p>2`'s turn running
 * (slow). The harness is `h`, closed after the test.
 */
async function cancelledWhileOtherRuns(p: string): Promise<{ harness: Harness; sup: ReturnType<Harness["supervisor"]> }> {
  h = await createHarness({ responder: slowFirst(2_500) });
  const harness = h;
  const sup = harness.supervisor({ maxConcurrentTurns: 1 });
  sup.start();
  await harness.admit(`${p}1.foreground`, "cancelled one");
  await waitUntil(() => sup.status(`${p}1.foreground`).turnRunning, `${p}1's turn running`);
  expect((await sup.cancel(`${p}1.foreground`, "user /cancel")).accepted).toBe(true);
  await waitUntil(() => harness.durableOf("turn_cancelled", `${p}1.foreground`).length === 1, `${p}1 cancelled`);
  await harness.admit(`${p}2.foreground`, "busy one");
  await waitUntil(() => sup.status(`${p}2.foreground`).turnRunning, `${p}2's turn running`);
  return { harness, sup };
}

describe("what the user asked survives a crash", () => {
  it("a turn the user cancelled is not resumed automatically when its worker dies before storing the cancellation", async () => {
    // Life 1 cannot store the turn's ending (it keeps retrying), so the turn is still running in its journal when it is killed.
    h = await createHarness({
      responder: slowFirst(4_000),
      workerEnv: (_, n) => (n === 1 ? { STARLING_FAIL_AT: "turn_cancelled:1:1000" } : {}),
    });
    const harness = h;
    const sup = harness.supervisor();
    sup.start();
    await harness.admit("c1.foreground", "stop me");
    await waitUntil(() => sup.status("c1.foreground").turnRunning, "the turn running");
    const result = await sup.cancel("c1.foreground", "user /cancel");
    expect(result.accepted).toBe(true);
    await sleep(300); // the worker tries to store the cancellation and fails
    process.kill(harness.workerPid("c1.foreground"), "SIGKILL");

    await waitUntil(() => harness.durableOf("turn_recovered").length === 1, "the turn recovered by the next worker");
    expect(harness.durableOf("turn_recovered")[0]!.ctx).toMatchObject({ autoContinued: false });

    // The user's /continue resumes it (and clears the mark). It is accepted only if the turn was neither
    // running (resumed meanwhile) nor finished; after its reply, one resumed call in all: none automatic.
    expect(await sup.continue("c1.foreground")).toMatchObject({ accepted: true });
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply after /continue");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: stop me");
    expect(harness.fake.requests).toHaveLength(2);
  });

  it("a /continue whose worker fails to start is carried out by the next start, not refused", async () => {
    // Launch 2 (the one /continue starts) cannot start; the runner's restart brings launch 3.
    h = await createHarness({ responder: slowFirst(3_000), workerEnv: (_, n) => (n === 2 ? { NODE_OPTIONS: "--no-such-node-flag" } : {}) });
    const harness = h;
    const sup = harness.supervisor();
    sup.start();
    await harness.admit("s1.foreground", "resume me");
    await waitUntil(() => sup.status("s1.foreground").turnRunning, "the turn running");
    expect((await sup.cancel("s1.foreground", "user /cancel")).accepted).toBe(true);
    await waitUntil(() => harness.durableOf("turn_cancelled").length === 1, "the turn cancelled");
    process.kill(harness.workerPid("s1.foreground"), "SIGKILL"); // an idle worker that dies is not restarted by itself
    await waitUntil(() => !sup.status("s1.foreground").workerRunning, "the worker gone");

    expect(await sup.continue("s1.foreground")).toMatchObject({ accepted: true });
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply after the restarted start");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: resume me");
    expect(harness.launches.length).toBeGreaterThanOrEqual(3);
  });

  it("/cancel withdraws an automatic continue waiting for a slot, and a restarted host does not resume the turn either", async () => {
    // w2's turn holds the only slot until the test cancels it: w1's recovery is decided while it waits, however loaded the machine.
    // The message that wakes the restarted host is answered at once (the wait after its answer is the check).
    const slow = slowFirst(3_000);
    h = await createHarness({
      responder: (req) => (lastUserText(req) === "busy one" ? { hang: true } : ["wake the host up", "after w2"].includes(lastUserText(req)) ? echo(req) : slow(req)),
    });
    const harness = h;
    const sup1 = harness.supervisor({ maxConcurrentTurns: 1 });
    sup1.start();
    await harness.admit("w1.foreground", "interrupted one");
    await waitUntil(() => sup1.status("w1.foreground").turnRunning, "w1's turn running");
    // The model was asked once before the kill (a turn can be running before its request leaves).
    await waitUntil(() => harness.fake.requests.some((r) => lastUserText(r) === "interrupted one"), "w1's model call made");
    // Another conversation is waiting for the slot, so w1's automatic continue has to wait behind it.
    await harness.admit("w2.foreground", "busy one");
    await waitUntil(() => sup1.status("w2.foreground").queuePosition === 1, "w2 waiting for the slot");
    process.kill(harness.workerPid("w1.foreground"), "SIGKILL");
    // The slot goes to w2; w1's restart waits for it. A query starts w1's worker without a slot (as /status
    // does), so its recovered turn's automatic continue is decided and then waits for the slot.
    await waitUntil(() => sup1.status("w2.foreground").turnRunning, "w2 running");
    await sup1.query("w1.foreground", { view: "live_state" }, { start: true });
    const decided = () => harness.logs.find((l) => l["sessionId"] === "w1.foreground" && l["msg"] === "turn recovered after a worker stop");
    await waitUntil(() => decided() !== undefined, "w1's recovered turn decided");
    expect(decided()!["decision"]).toEqual({ kind: "continue", attempt: 1 });
    expect(sup1.status("w1.foreground").queuePosition).toBe(1); // the continue waits for the slot
    const result = await sup1.cancel("w1.foreground", "user /cancel");
    expect(result).toMatchObject({ accepted: true, reason: "the interrupted turn will not be resumed automatically", withdrew: { auto: true, waitingFor: "slot" } });
    // The slot frees (w2's turn ends); the withdrawn continue must not take it.
    expect((await sup1.cancel("w2.foreground", "user /cancel")).accepted).toBe(true);
    await waitUntil(() => harness.durableOf("turn_cancelled", "w2.foreground").length === 1, "w2's turn ended");
    // A third conversation asks for the slot after it: the slot goes in the order asked, so a continue
    // still waiting for it would have run first.
    await harness.admit("w3.foreground", "after w2");
    await waitUntil(() => harness.durableOf("turn_completed", "w3.foreground").length === 1, "w3 answered");
    expect(harness.fake.requests.filter((r) => lastUserText(r) === "interrupted one")).toHaveLength(1);
    await sup1.stop(3_000);

    const sup2 = harness.supervisor({ maxConcurrentTurns: 1 });
    sup2.start();
    await harness.admit("w2.foreground", "wake the host up");
    await waitUntil(() => harness.durableOf("turn_completed", "w2.foreground").length === 1, "w2 answered");
    await sleep(1_500);
    expect(harness.durableOf("turn_completed", "w1.foreground")).toHaveLength(0); // never resumed by the host
    expect(harness.fake.requests.filter((r) => lastUserText(r) === "interrupted one")).toHaveLength(1);
    await sup2.stop(3_000);
  });

  it("a /continue acknowledged while it waits for a turn slot is sent after a host restart", async () => {
    // Another conversation takes the only slot; k1's /continue has to wait for it.
    const { harness, sup: sup1 } = await cancelledWhileOtherRuns("k");
    const answer = await sup1.continue("k1.foreground");
    expect(answer).toMatchObject({ accepted: true });
    expect(answer.reason).toMatch(/waiting for a free turn slot/);
    await sup1.stop(3_000); // the host goes away before the slot frees

    const sup2 = harness.supervisor({ maxConcurrentTurns: 1 });
    sup2.start();
    await waitUntil(() => harness.durableOf("turn_completed", "k1.foreground").length === 1, "k1's reply after the restart");
    expect(replyText(harness.durableOf("turn_completed", "k1.foreground")[0]!.event)).toBe("echo: cancelled one");
    await sup2.stop(3_000);
  });

  it("a /cancel withdraws the user's /continue waiting for a turn slot, saying what it withdrew; the freed slot does not resume the turn", async () => {
    const { harness, sup } = await cancelledWhileOtherRuns("q");
    expect(await sup.continue("q1.foreground")).toMatchObject({ accepted: true, waitingFor: "slot", position: 1 });
    // No turn runs in q1: what the /cancel stops is the waiting /continue, and it says so.
    expect(await sup.cancel("q1.foreground", "user /cancel")).toMatchObject({
      accepted: true,
      reason: "the /continue waiting for a free turn slot was withdrawn",
      withdrew: { auto: false, waitingFor: "slot" },
    });
    expect((await sup.cancel("q2.foreground", "user /cancel")).accepted).toBe(true);
    // The slot goes in the order asked: a continue still waiting would have run before q3's message.
    await harness.admit("q3.foreground", "after q2");
    await waitUntil(() => harness.durableOf("turn_completed", "q3.foreground").length === 1, "q3 answered");
    expect(harness.fake.requests.filter((r) => lastUserText(r) === "cancelled one")).toHaveLength(1);
    await sup.stop(3_000);
  });
});
