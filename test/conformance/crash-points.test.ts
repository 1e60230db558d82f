// Crash points (ARCHITECTURE §5.6): for every worker commit point, SIGKILL the worker right after it,
// restart it on the same workspace, finish the scenario as a host would, and check the §5 invariants.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WORKER_CRASH_POINTS, type InitializeParams, type WorkerCrashPoint } from "@starling/protocol";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { liveState, newEnv, pairingProblems, toolItems, transcript, type TestEnv, type WorkerUnderTest, until, userMessage } from "./harness.js";
import { appendLine, isSummaryRequest, lastMessage, wireMessages } from "./model-script.js";

/** Tool results since the last user message of a request (the steps the turn has taken so far). */
function toolStepsSinceUser(req: RecordedRequest): number {
  const messages = wireMessages(req);
  let n = 0;
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role !== "user"; i--) if (messages[i]!.role === "tool") n++;
  return n;
}

/** What the fake model does after a tool result, the first N times (then it answers). */
interface ModelPlan {
  hangAfterTool: number;
  failAfterTool: number;
  /** Tool steps of a turn before the model answers (default 1). */
  toolSteps: number;
}

interface Host {
  /** messageIds sent with session/enqueue, and those whose ack arrived. */
  sent: string[];
  acked: Set<string>;
  /** The highest seq a message carried as `ackUpTo` (0: none). */
  ackedUpTo: number;
  enqueue(w: WorkerUnderTest, id: string, text: string, ackUpTo?: number): Promise<void>;
}

interface Scenario {
  /** Drives the first worker (started with STARLING_CRASH_AT=<point>) until it reaches the point. */
  drive(w: WorkerUnderTest, env: TestEnv, host: Host, plan: ModelPlan): Promise<void>;
  plan?: Partial<ModelPlan>;
  init?: Partial<InitializeParams>;
  autoAck?: boolean;
  /** The `STARLING_CRASH_AT` of the first worker (default: the scenario's own point). */
  firstPoint?: string;
  /** A queued message starts a new turn at once, so the host's /continue is refused as "already running". */
  continueRejected?: boolean;
  /** Crash points to hit, in order, on later starts before the clean one (each dies in `initialize`). */
  thenCrashAt?: WorkerCrashPoint[];
  /** `unfinishedTurn.reason` the clean restart reports (null: none). */
  unfinished: string | null;
  /** A delivery event the clean restart must (re-)send for turn `resendsTurn` (default 1). */
  resends?: "turn_recovered" | "turn_completed" | "turn_failed" | "turn_cancelled" | "turn_superseded";
  resendsTurn?: number;
  /**
   * The turn's first answer also returns an image (with its tool call), which turn 1's final answer after
   * a continue must not name again. `ending`: the ending's re-sent event carries it (`attachments`);
   * `next turn`: turn 2, which superseded turn 1 after the restart, names it in its final answer.
   */
  images?: "ending" | "next turn";
  /** Shell results that really ran before the "after" message, and synthetic crash results. */
  ran: number;
  crashResults?: number;
}

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

const LONG = "Please append a line to the effects log. " + "This request carries extra words to be long enough to compact. ".repeat(4);

/** The first tool step of turn 1 is done; the model is now being asked again (request #2). */
async function afterFirstTool(w: WorkerUnderTest, env: TestEnv, host: Host): Promise<void> {
  await host.enqueue(w, "m1", "append a line");
  await env.fake.waitForRequests(2);
}

/** Crash points with a test of their own: `seed_history` is passed inside `initialize` only (seed-history.test.ts). */
const OWN_TESTS = ["seed_history"] as const;

const scenarios: Record<Exclude<WorkerCrashPoint, (typeof OWN_TESTS)[number]>, Scenario> = {
  // The message is durable before it is acknowledged: the host never got the ack, re-sends, gets `duplicate`.
  enqueue: { drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"), unfinished: null, ran: 1 },
  turn_start: { drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"), unfinished: "crash", resends: "turn_recovered", ran: 1 },
  // The answer with the tool call is stored but the call never started: it runs on /continue.
  model_answer: { drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"), unfinished: "crash", resends: "turn_recovered", ran: 1 },
  // Intent stored, tool not run: outcome unknown, so it gets a crash result and is never run.
  tool_intent: {
    drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"),
    unfinished: "crash",
    resends: "turn_recovered",
    ran: 0,
    crashResults: 1,
  },
  // The tool ran and its result is stored: never run again.
  tool_result: { drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"), unfinished: "crash", resends: "turn_recovered", ran: 1 },
  // The final answer is stored but turn_completed never left the process: it is re-sent after the restart.
  turn_end: { drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"), unfinished: null, resends: "turn_completed", ran: 1 },
  turn_failed: {
    plan: { failAfterTool: 2 },
    images: "ending",
    drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"),
    unfinished: "failed",
    resends: "turn_failed",
    ran: 1,
  },
  turn_cancelled: {
    plan: { hangAfterTool: 1 },
    images: "ending",
    drive: async (w, env, h) => {
      await afterFirstTool(w, env, h);
      await w.client.cancel().catch(() => undefined);
    },
    unfinished: "cancelled",
    resends: "turn_cancelled",
    ran: 1,
  },
  // An unfinished turn ended for good (`session/cancel` with `endUnfinished`, as the host does for a cron
  // task's turn): after the restart it is finished, not offered again, and its turn_cancelled is re-sent.
  turn_given_up: {
    plan: { failAfterTool: 2 },
    drive: async (w, _e, h) => {
      await h.enqueue(w, "m1", "append a line");
      await w.waitForEvent("turn_failed");
      await w.client.cancel({ endUnfinished: 1, reason: "given up" }).catch(() => undefined);
    },
    unfinished: null,
    resends: "turn_cancelled",
    ran: 1,
  },
  turn_superseded: {
    plan: { hangAfterTool: 1 },
    images: "ending",
    drive: async (w, env, h) => {
      await afterFirstTool(w, env, h);
      await h.enqueue(w, "m2", "now do this instead");
    },
    unfinished: null,
    resends: "turn_superseded",
    ran: 2,
  },
  turn_resume: {
    plan: { failAfterTool: 2 },
    drive: async (w, _e, h) => {
      await h.enqueue(w, "m1", "append a line");
      await w.waitForEvent("turn_failed");
      await w.client.continue().catch(() => undefined);
    },
    unfinished: "crash",
    resends: "turn_recovered",
    ran: 1,
  },
  // Recovery itself is a commit point: reached on a start that finds a running turn (here left by a
  // crash at model_answer), so the second start dies inside `initialize` and a third finishes.
  recovery: {
    drive: (w, _e, h) => h.enqueue(w, "m1", "append a line"),
    firstPoint: "model_answer",
    thenCrashAt: ["recovery"],
    unfinished: "crash",
    resends: "turn_recovered",
    ran: 1,
  },
  // Compaction runs at the step after the tool result (history over the threshold).
  compaction: {
    init: { compression: { thresholdTokens: 50, retainRecentTokens: 10 } },
    drive: (w, _e, h) => h.enqueue(w, "m1", LONG),
    unfinished: "crash",
    resends: "turn_recovered",
    ran: 1,
  },
  // The ack is durable: after the restart the acknowledged turn_completed is not re-sent.
  ack_events: {
    autoAck: false,
    drive: async (w, _e, h) => {
      await h.enqueue(w, "m1", "append a line");
      const done = await w.waitForEvent("turn_completed");
      await w.client.ackEvents({ upTo: done.seq }).catch(() => undefined);
    },
    unfinished: null,
    ran: 1,
  },
};

/** Variants that reach a point in another situation (`point:n` = the n-th time). */
const extraScenarios: Record<string, Scenario> = {
  // A second message is stored while turn 1 waits for the model, and the worker dies before it
  // interrupts the turn: after the restart turn 1 is recovered, but the queued message supersedes it (and
  // turn 2 carries turn 1's image, which no notice sent).
  "enqueue:2 (a message arrives during a turn)": {
    firstPoint: "enqueue:2",
    plan: { hangAfterTool: 1 },
    images: "next turn",
    drive: async (w, env, h) => {
      await afterFirstTool(w, env, h);
      await h.enqueue(w, "m2", "and another thing");
    },
    unfinished: "crash",
    continueRejected: true,
    resends: "turn_recovered",
    ran: 2,
  },
  // turn_start has no fsync of its own; a process kill still finds it written, here with its other
  // half: turn 1 (failed, continuable) closed as superseded by the new turn 2, which is recovered.
  "turn_start:2 (a new message supersedes a failed turn)": {
    firstPoint: "turn_start:2",
    plan: { failAfterTool: 2 },
    drive: async (w, _e, h) => {
      await h.enqueue(w, "m1", "append a line");
      await w.waitForEvent("turn_failed");
      await h.enqueue(w, "m2", "append another line");
    },
    unfinished: "crash",
    resends: "turn_recovered",
    resendsTurn: 2,
    ran: 2,
  },
  // The message carries the acknowledgement of turn 1's events (`ackUpTo`): it is in the message's own
  // batch, so after the crash turn_completed is not re-sent and the message is queued (turn 2 runs).
  "enqueue:2 (the message carries an acknowledgement)": {
    firstPoint: "enqueue:2",
    autoAck: false,
    drive: async (w, _e, h) => {
      await h.enqueue(w, "m1", "append a line");
      const done = await w.waitForEvent("turn_completed");
      await h.enqueue(w, "m2", "append another line", done.seq);
    },
    unfinished: null,
    ran: 2,
  },
  // The second step of a turn: its answer is stored after a completed tool step.
  "model_answer:2 (second step)": {
    firstPoint: "model_answer:2",
    plan: { toolSteps: 2 },
    drive: (w, _e, h) => h.enqueue(w, "m1", "append two lines"),
    unfinished: "crash",
    resends: "turn_recovered",
    ran: 2,
  },
};

function effectLines(dir: string): number {
  const file = join(dir, "effects.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
}

async function settle(w: WorkerUnderTest): Promise<void> {
  await until(
    "the session is idle with nothing queued or unfinished",
    async () => {
      const s = await liveState(w.client);
      return s.state === "idle" && s.queuedInputs === 0 && s.unfinishedTurn === null;
    },
    10_000,
    30,
  );
}

describe("crash points", () => {
  it("every worker crash point has a scenario", () => {
    expect([...Object.keys(scenarios), ...OWN_TESTS].sort()).toEqual([...WORKER_CRASH_POINTS].sort());
  });

  const cases: [string, Scenario][] = [
    ...Object.entries(scenarios),
    ...Object.entries(extraScenarios),
  ];
  it.concurrent.for(cases)("STARLING_CRASH_AT=%s: nothing acknowledged is lost, nothing completed re-runs", async ([point, scenario], ctx) => {
    const plan: ModelPlan = { hangAfterTool: 0, failAfterTool: 0, toolSteps: 1, ...scenario.plan };
    let imageToSend = scenario.images !== undefined;
    const env = await newEnv(ctx, {
      responder: (req): ScriptedReply => {
        if (isSummaryRequest(req)) return { text: "SUMMARY: the user wants a line appended to effects.log." };
        if (lastMessage(req)?.role === "tool" && toolStepsSinceUser(req) >= plan.toolSteps) {
          if (plan.hangAfterTool > 0) {
            plan.hangAfterTool--;
            return { hang: true };
          }
          if (plan.failAfterTool > 0) {
            plan.failAfterTool--;
            return { status: 500 };
          }
          return { text: "done" };
        }
        const images = imageToSend ? [`data:image/png;base64,${PNG.toString("base64")}`] : undefined;
        imageToSend = false;
        return { toolCalls: [appendLine()], ...(images ? { images } : {}) };
      },
    });
    const host: Host = {
      sent: [],
      acked: new Set(),
      ackedUpTo: 0,
      async enqueue(w, id, text, ackUpTo) {
        if (!this.sent.includes(id)) this.sent.push(id);
        if (ackUpTo !== undefined) this.ackedUpTo = ackUpTo;
        try {
          const r = await w.client.enqueue({ ...userMessage(id, text), ...(ackUpTo === undefined ? {} : { ackUpTo }) });
          expect(r.accepted).toBe(true);
          this.acked.add(id);
        } catch {
          /* the worker died before acknowledging: the host re-sends after the restart */
        }
      },
    };
    const firstPoint = scenario.firstPoint ?? point;
    const ackPoint = firstPoint.split(":")[0] === "ack_events";
    const opts = { init: scenario.init, autoAck: scenario.autoAck };

    // 1. Run until the crash point kills the worker.
    const first = await env.start({ ...opts, env: { STARLING_CRASH_AT: firstPoint } });
    const dying = first.exited(10_000);
    await Promise.race([scenario.drive(first, env, host, plan).catch(() => undefined), dying]);
    expect((await dying).signal).toBe("SIGKILL");

    for (const later of scenario.thenCrashAt ?? []) {
      const w = env.launch({ ...opts, env: { STARLING_CRASH_AT: later } });
      await expect(w.client.initialize(env.initParams(opts))).rejects.toThrow();
      expect((await w.exited()).signal).toBe("SIGKILL");
    }

    // 2. Restart cleanly; re-send what was not acknowledged, as a host does.
    const w = await env.start(opts);
    expect(w.init.unfinishedTurn?.reason ?? null).toBe(scenario.unfinished);
    for (const id of host.sent.filter((id) => !host.acked.has(id))) {
      expect(await w.client.enqueue(userMessage(id, "re-sent"))).toEqual({ accepted: true, duplicate: true });
    }
    if (scenario.resends) {
      const resent = await w.waitForEvent(scenario.resends);
      expect(resent.turnId).toBe(scenario.resendsTurn ?? 1);
      if (scenario.images === "ending") expect(resent).toMatchObject({ attachments: [expect.stringMatching(/^generated\/image-\d{8}T\d{6}-t1a1-1\.png$/)] });
    }
    if (ackPoint) {
      expect(w.init.lastAckedSeq).toBeGreaterThan(0);
      expect(w.events.filter((e) => e.seq <= w.init.lastAckedSeq)).toEqual([]);
    }
    if (host.ackedUpTo > 0) {
      expect(w.init.lastAckedSeq).toBe(host.ackedUpTo);
      expect(w.events.filter((e) => e.seq <= host.ackedUpTo)).toEqual([]);
    }
    if (w.init.unfinishedTurn) {
      const cont = await w.client.continue({ reason: "host continues after restart" });
      if (scenario.continueRejected) expect(cont).toMatchObject({ accepted: false, reason: expect.stringMatching(/already running/) });
      else expect(cont).toEqual({ accepted: true });
    }
    await settle(w);
    if (scenario.images) expect(JSON.stringify(w.eventsOf("turn_completed").filter((e) => e.turnId === 1))).not.toContain("generated/");
    if (scenario.images === "next turn") {
      const tag = expect.stringMatching(/^<attachment>generated\/image-\d{8}T\d{6}-t1a1-1\.png<\/attachment>$/);
      expect(w.eventsOf("turn_completed").find((e) => e.turnId === 2)?.message.content).toContainEqual({ type: "text", text: tag });
    }

    // 3. The §5 invariants.
    const check = async (expectedRan: number) => {
      const all = await transcript(w.client);
      const users = all.filter((m) => m.role === "user").map((m) => m.messageId);
      expect([...users].sort()).toEqual([...host.sent].sort()); // each acknowledged/sent message exactly once
      expect(pairingProblems(all)).toEqual([]);
      const { results } = toolItems(all);
      const ran = results.filter((r) => !r.synthetic && /exit code 0/.test(r.content));
      const crashed = results.filter((r) => r.synthetic === "crash");
      for (const r of crashed) expect(r.content).toMatch(/Interrupted by a crash; outcome unknown/);
      expect(results.length).toBe(ran.length + crashed.length);
      expect(effectLines(env.dir)).toBe(ran.length); // no completed tool re-ran, none silently lost
      expect(ran.length).toBe(expectedRan);
      expect(crashed.length).toBe(scenario.crashResults ?? 0);
      return all;
    };
    const all = await check(scenario.ran);
    if (point === "compaction") expect((await transcript(w.client, "current"))[0]?.role).toBe("context");
    expect(all.length).toBeGreaterThan(0);

    // 4. Not wedged: a new message gets its own completed turn.
    await host.enqueue(w, "after", "one more");
    const started = await w.waitForEvent("turn_started", (e) => e.messageIds.includes("after"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === started.turnId);
    await settle(w);
    await check(scenario.ran + plan.toolSteps);
  });

  it("STARLING_CRASH_AT=tool_intent:2 in a batch of three: the first keeps its result, the second gets a crash result, the third runs on /continue", async (ctx) => {
    const env = await newEnv(ctx, {
      responder: (req): ScriptedReply =>
        lastMessage(req)?.role === "tool"
          ? { text: "done" }
          : { toolCalls: [appendLine("a"), appendLine("b"), appendLine("c")] },
    });
    const first = await env.start({ env: { STARLING_CRASH_AT: "tool_intent:2" } });
    await first.client.enqueue(userMessage("m1", "three appends")).catch(() => undefined);
    expect((await first.exited()).signal).toBe("SIGKILL");

    const w = await env.start();
    expect(w.init.unfinishedTurn).toEqual({ turnId: 1, reason: "crash" });
    expect((await w.waitForEvent("turn_recovered")).detail).toMatch(/shell/);
    expect(await w.client.continue()).toEqual({ accepted: true });
    await w.waitForEvent("turn_completed");
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const { calls, results } = toolItems(all);
    expect(calls.map((c) => JSON.parse(c.arguments).command)).toEqual(["a", "b", "c"].map((t) => `echo ${t} >> effects.log`));
    const byCall = calls.map((c) => results.find((r) => r.callId === c.id)!);
    expect(byCall.map((r) => r.synthetic ?? "ran")).toEqual(["ran", "crash", "ran"]);
    expect(readFileSync(join(env.dir, "effects.log"), "utf8")).toBe("a\nc\n");
  });
});
