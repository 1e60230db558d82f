// Warm spare workers: a session takes the pre-started worker, a new spare starts, a dead spare is
// replaced, and stopping the supervisor stops the spare. Real worker processes, the fake model.
import { mkdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionLaunch } from "../../src/sessions/supervisor.js";
import { alive, createHarness, echo, lastUserText, replyText, sessionInit, waitUntil, WORKER_MAIN, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function spareSetup(harness: Harness, maxConcurrentTurns = 4) {
  const command: [string, ...string[]] = [process.execPath, WORKER_MAIN];
  const env = { ...process.env, STARLING_LOG_LEVEL: "info" };
  const launch = async (sessionId: string): Promise<SessionLaunch> => {
    const workspace = join(harness.dir, "ws", sessionId);
    mkdirSync(workspace, { recursive: true });
    return {
      init: sessionInit(sessionId, workspace, harness.fake.url),
      command,
      cwd: workspace,
      env,
    };
  };
  return harness.supervisor({ warmSpares: 1, maxConcurrentTurns, launch, spareLaunch: async () => ({ command, cwd: harness.dir, env }) });
}

describe("warm spare workers", () => {
  it("a conversation started while a spare waits runs on that spare, and a new spare starts", async () => {
    h = await createHarness();
    const harness = h;
    const sup = spareSetup(harness);
    sup.start();
    await waitUntil(() => sup.sparePids().length === 1, "a spare");
    const [spare] = sup.sparePids();
    await harness.admit("w1.foreground", "hello");
    sup.deliver("w1.foreground");
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the reply");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: hello");
    // The spare process became the session's worker: alive, now in the session's workspace.
    expect(alive(spare!)).toBe(true);
    expect(readlinkSync(`/proc/${spare}/cwd`)).toBe(join(harness.dir, "ws", "w1.foreground"));
    expect(sup.status("w1.foreground").workerRunning).toBe(true);
    await waitUntil(() => sup.sparePids().length === 1 && sup.sparePids()[0] !== spare, "a new spare");
  });

  it("a worker killed mid-turn is replaced by the waiting spare, which recovers and continues the turn", async () => {
    // The first model call never answers in time: the worker is killed while it waits.
    h = await createHarness({ responder: (req, i) => (i === 0 ? { delayMs: 60_000, text: "too late" } : echo(req)) });
    const harness = h;
    const sup = spareSetup(harness);
    sup.start();
    await waitUntil(() => sup.sparePids().length === 1, "a spare");
    const [first] = sup.sparePids();
    await harness.admit("w1.foreground", "long question");
    sup.deliver("w1.foreground");
    await harness.fake.waitForRequests(1, 30_000);
    // The session runs on the first spare; a second spare waits beside it.
    expect(readlinkSync(`/proc/${first}/cwd`)).toBe(join(harness.dir, "ws", "w1.foreground"));
    await waitUntil(() => sup.sparePids().length === 1 && sup.sparePids()[0] !== first, "a second spare");
    const [second] = sup.sparePids();
    process.kill(first!, "SIGKILL");
    await waitUntil(() => harness.durableOf("turn_completed").length === 1, "the recovered turn's reply");
    expect(replyText(harness.durableOf("turn_completed")[0]!.event)).toBe("echo: long question");
    expect(harness.logs.some((l) => l.msg === "continue sent")).toBe(true);
    // The restarted worker is the second spare, now in the session's workspace; a third spare replaces it.
    expect(readlinkSync(`/proc/${second}/cwd`)).toBe(join(harness.dir, "ws", "w1.foreground"));
    expect(sup.status("w1.foreground").restarts).toBe(1);
    await waitUntil(() => sup.sparePids().length === 1 && sup.sparePids()[0] !== second, "a third spare");
  });

  it("a spare that dies is replaced, and stopping the supervisor stops the spare", async () => {
    h = await createHarness();
    const sup = spareSetup(h);
    sup.start();
    await waitUntil(() => sup.sparePids().length === 1, "a spare");
    const [first] = sup.sparePids();
    process.kill(first!, "SIGKILL");
    await waitUntil(() => sup.sparePids().length === 1 && sup.sparePids()[0] !== first, "a replacement spare");
    expect(alive(first!)).toBe(false);
    const [second] = sup.sparePids();
    expect(alive(second!)).toBe(true);
    await sup.stop(3000);
    expect(sup.sparePids()).toEqual([]);
    await waitUntil(() => !alive(second!), "the spare to exit");
  });

  it("while new conversations wait for a turn slot, a spare is kept for each, up to max_concurrent_turns", async () => {
    // "busy" turns never get their model answer: they hold both slots while the others wait.
    h = await createHarness({ responder: (req, i) => (lastUserText(req).startsWith("busy") ? { raw: { steps: [], then: "stall" } } : echo(req)) });
    const harness = h;
    const sup = spareSetup(harness, 2);
    sup.start();
    await waitUntil(() => sup.sparePids().length === 1, "the configured spare");
    for (const id of ["b1", "b2"]) await harness.admit(`${id}.foreground`, "busy");
    await waitUntil(() => harness.fake.requests.length === 2, "both slots held by running turns");
    for (const id of ["w1", "w2", "w3"]) await harness.admit(`${id}.foreground`, `hi ${id}`);
    // Three conversations wait without a worker; the cap (2 slots) bounds the spares started for them.
    await waitUntil(() => sup.sparePids().length === 2, "a second spare for the waiting conversations");
    expect(sup.status("w1.foreground").queuePosition).toBe(1);
    expect(sup.status("w1.foreground").workerRunning).toBe(false);
    await sup.stop(3000);
    expect(sup.sparePids()).toEqual([]);
  });
});

