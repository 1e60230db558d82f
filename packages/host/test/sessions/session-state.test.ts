import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionEvent } from "@starling/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { restartPolicy } from "../../src/sessions/backoff.js";
import { EditClaims } from "../../src/sessions/edit-claims.js";
import { decideRecovery } from "../../src/sessions/recovery.js";
import { SessionRunner, type RunnerContext } from "../../src/sessions/session-runner.js";
import { ChangeSignal, decideEvent, decideStart, type StartFacts } from "../../src/sessions/session-state.js";
import { TurnSlots } from "../../src/sessions/turn-slots.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import { refusingOptions, waitUntil } from "./harness.js";

const usage = { inputTokens: 1, outputTokens: 1 };
const ev = {
  started: { type: "turn_started", turnId: 4 },
  completed: { type: "turn_completed", turnId: 4, message: { role: "assistant", content: [] }, usage },
  failed: { type: "turn_failed", turnId: 4, error: { kind: "model", message: "500" }, canContinue: true },
  recovered: { type: "turn_recovered", turnId: 4, action: "awaiting_continue" },
  crashed: { type: "runtime_crashed", message: "boom" },
} as unknown as Record<string, SessionEvent>;

describe("decideEvent: what an event means for the session", () => {
  it.each([
    ["turn_started", ev.started!, null, false, [{ kind: "turnStarted", turnId: 4 }]],
    ["runtime_crashed", ev.crashed!, null, false, [{ kind: "runtimeCrashed", message: "boom" }]],
    ["turn_completed", ev.completed!, null, false, [{ kind: "turnEnded", progress: true }]],
    ["turn_failed", ev.failed!, null, false, [{ kind: "turnEnded", progress: true }]],
    ["turn_completed re-sent (already processed)", ev.completed!, null, true, []],
    ["turn_recovered re-sent", ev.recovered!, null, true, [{ kind: "recoverySettled", turnId: 4 }]],
    ["turn_recovered, superseded", ev.recovered!, { kind: "superseded" }, false, [{ kind: "turnEnded", progress: false }, { kind: "recoverySettled", turnId: 4 }]],
    [
      "turn_recovered, continue 2/3",
      ev.recovered!,
      { kind: "continue", attempt: 2 },
      false,
      [
        { kind: "turnEnded", progress: false },
        { kind: "recoverySettled", turnId: 4 },
        { kind: "continue", request: { auto: true, turnId: 4, reason: "automatic continue 2/3 after the worker stopped mid-turn" } },
      ],
    ],
    ["turn_recovered, continues used up: nothing more is sent", ev.recovered!, { kind: "exhausted", attempts: 3 }, false, [{ kind: "turnEnded", progress: false }, { kind: "recoverySettled", turnId: 4 }]],
    [
      "turn_recovered, continues used up where nobody can /continue: the turn is ended",
      ev.recovered!,
      { kind: "abandon", attempts: 3 },
      false,
      [
        { kind: "turnEnded", progress: false },
        { kind: "recoverySettled", turnId: 4 },
        { kind: "endUnfinished", turnId: 4, reason: "given up: interrupted by worker restarts after 3 automatic continues" },
      ],
    ],
  ] as const)("%s", (_, event, recovery, duplicate, expected) => {
    expect(decideEvent(event, recovery, 3, duplicate)).toEqual(expected);
  });
});

describe("decideStart: reconciling with a freshly initialized worker", () => {
  const base: StartFacts = { lastEventSeq: 10, lastAckedSeq: 10, processedSeq: 10, unfinishedTurn: null, autoContinuesUsed: 0, cancelledByUser: false, maxAutoContinues: 2, queuedInputs: 0, unattended: false };
  const crash = { turnId: 7, reason: "crash" };
  it.each([
    ["in step, nothing unfinished", {}, { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: null }],
    ["database behind the host (/new)", { lastEventSeq: 2, lastAckedSeq: 2 }, { forgetProgress: true, awaitRecoveryOf: null, resume: null, recovery: null }],
    ["crashed turn, its turn_recovered still to come", { lastEventSeq: 12, unfinishedTurn: crash }, { forgetProgress: false, awaitRecoveryOf: 7, resume: null, recovery: null }],
    ["crashed turn reported earlier, never resumed", { unfinishedTurn: crash, autoContinuesUsed: 1 }, { forgetProgress: false, awaitRecoveryOf: null, resume: { turnId: 7, attempt: 2 }, recovery: { kind: "continue", attempt: 2 } }],
    ["…with the continues used up", { unfinishedTurn: crash, autoContinuesUsed: 2 }, { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: { kind: "exhausted", attempts: 2 } }],
    ["…used up in a session nobody can /continue", { unfinishedTurn: crash, autoContinuesUsed: 2, unattended: true }, { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: { kind: "abandon", attempts: 2 } }],
    ["…with queued input", { unfinishedTurn: crash, queuedInputs: 1 }, { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: { kind: "superseded" } }],
    ["a cancelled turn is never resumed", { unfinishedTurn: { turnId: 7, reason: "cancelled" } }, { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: null }],
    [
      "a crashed turn the user had /cancel-ed (the worker died before storing it) is not resumed",
      { unfinishedTurn: crash, cancelledByUser: true },
      { forgetProgress: false, awaitRecoveryOf: null, resume: null, recovery: { kind: "none" } },
    ],
    [
      "reset database: the counters are forgotten too",
      { lastEventSeq: 3, lastAckedSeq: 3, unfinishedTurn: crash, autoContinuesUsed: 2 },
      { forgetProgress: true, awaitRecoveryOf: null, resume: { turnId: 7, attempt: 1 }, recovery: { kind: "continue", attempt: 1 } },
    ],
  ] as const)("%s", (_, facts, expected) => {
    expect(decideStart({ ...base, ...facts })).toEqual(expected);
  });
});

describe("decideRecovery", () => {
  const f = { action: "awaiting_continue", cancelled: false, used: 0, max: 2, newInput: false, alreadyContinued: false, unattended: false } as const;
  it.each([
    ["action none", { action: "none" }, { kind: "none" }],
    ["cancelled", { cancelled: true }, { kind: "none" }],
    ["already continued in this life", { alreadyContinued: true, newInput: true }, { kind: "already" }],
    ["new input supersedes", { newInput: true }, { kind: "superseded" }],
    ["first continue", {}, { kind: "continue", attempt: 1 }],
    ["exhausted", { used: 2 }, { kind: "exhausted", attempts: 2 }],
    ["exhausted where nobody can /continue: abandoned", { used: 2, unattended: true }, { kind: "abandon", attempts: 2 }],
    ["…but a new message still supersedes it", { used: 2, unattended: true, newInput: true }, { kind: "superseded" }],
    ["…and continues are still spent first", { used: 1, unattended: true }, { kind: "continue", attempt: 2 }],
  ] as const)("%s", (_, facts, expected) => {
    expect(decideRecovery({ ...f, ...facts })).toEqual(expected);
  });
});

describe("SessionRunner owns the worker life (in-process, no worker)", () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn();
    cleanup = [];
  });

  async function runnerWithRefusingLaunch() {
    const dir = mkdtempSync(join(tmpdir(), "starling-runner-"));
    const store = await HostStore.open(join(dir, "host"));
    let stopped = false;
    const launches: string[] = [];
    const gaveUp: { sessionId: string; failures: number; lastError: string }[] = [];
    const ctx: RunnerContext = {
      options: { ...refusingOptions(store, launches), onGiveUp: (sessionId, failures, lastError) => void gaveUp.push({ sessionId, failures, lastError }) },
      slots: new TurnSlots(1, () => undefined),
      restart: restartPolicy({ initialDelayMs: 20, factor: 1, maxAttempts: 2 }),
      initializeTimeoutMs: 5000,
      shutdownTimeoutMs: 1000,
      answerMs: 15_000,
      isStopped: () => stopped,
      changes: new ChangeSignal(),
      editClaims: new EditClaims(),
    };
    const runner = new SessionRunner("s.foreground", ctx);
    cleanup.push(async () => {
      await runner.stopWorker({ respawn: false, keepResumeMark: true, timeoutMs: 1000 });
      stopped = true;
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const admit = (seq: number) =>
      store.commit("admit", (tx) =>
        tx.put(HostKeys.inbound(seq), { seq, conversationId: "s", sessionId: "s.foreground", messageId: `m${seq}`, message: { role: "user", content: [] }, admittedAt: "" }),
      );
    return { runner, launches, admit, gaveUp };
  }

  it("none → starting → backoff → starting → gaveUp; a newer message starts it again", async () => {
    const { runner, launches, admit, gaveUp } = await runnerWithRefusingLaunch();
    expect(runner.state).toBe("none");
    await admit(1);
    runner.itemsArrived();
    await waitUntil(() => runner.state === "gaveUp", "gave up after 2 failed starts");
    expect(launches).toHaveLength(2);
    expect(runner.lastError).toContain("gave up after 2 failed worker starts in a row");
    // The user is told once (host: writeGiveUpNotice), with the count and the last failure.
    expect(gaveUp).toEqual([{ sessionId: "s.foreground", failures: 2, lastError: "worker start failed: launch refused in this test" }]);
    expect(runner.holdsSlot).toBe(false);
    runner.itemsArrived(); // nothing newer than what it gave up on
    expect(runner.state).toBe("gaveUp");
    await admit(2);
    runner.itemsArrived();
    await waitUntil(() => launches.length === 3, "a newer message tried again");
    await waitUntil(() => runner.state === "backoff" || runner.state === "gaveUp", "the new start failed too");
  });

  it("apply: a recovered turn to continue becomes the one pending continue, marked continued in this life", async () => {
    const { runner } = await runnerWithRefusingLaunch();
    const ended: [number, string][] = [];
    const life = { continued: new Set<number>(), recoveryPending: 4 as number | null, endUnfinished: async (turnId: number, reason: string) => (ended.push([turnId, reason]), reached) };
    let reached = true;
    runner.apply(decideEvent(ev.started!, null, 2), life);
    expect(runner.turnRunning).toBe(true);
    runner.apply(decideEvent(ev.recovered!, { kind: "continue", attempt: 1 }, 2), life);
    expect(runner.turnRunning).toBe(false);
    expect(life.recoveryPending).toBeNull();
    expect([...life.continued]).toEqual([4]);
    expect(runner.continuePending).toMatchObject({ auto: true, turnId: 4 });
    // A /cancel withdraws it too (the supervisor then marks the turn cancelled by the user).
    expect(runner.withdrawContinue("test")).toMatchObject({ auto: true, turnId: 4 });
    expect(runner.continuePending).toBeNull();
    // Used up where nobody can /continue: the worker is asked to end the turn; nothing waits to be sent.
    runner.apply(decideEvent(ev.recovered!, { kind: "abandon", attempts: 2 }, 2), life);
    expect(ended).toEqual([[4, "given up: interrupted by worker restarts after 2 automatic continues"]]);
    expect(runner.continuePending).toBeNull();
    expect(runner.wantsWorker(), "the worker ended it: nothing else wants one").toBe(false);
    // Its worker died before it could be asked (the decision came from a replay): a worker is wanted, whose start
    // finds the turn still waiting and ends it (before: nothing wanted one, and the turn stayed unfinished for good).
    reached = false;
    runner.apply(decideEvent(ev.recovered!, { kind: "abandon", attempts: 2 }, 2), life);
    await new Promise((r) => setImmediate(r));
    expect(runner.wantsWorker(), "a worker is wanted to end the turn").toBe(true);
  });

  it("ChangeSignal wakes a waiter at the next change, or lets it go after its bound", async () => {
    const signal = new ChangeSignal();
    let woke = false;
    const waiting = signal.next(60_000).then(() => (woke = true));
    signal.fire();
    await waiting;
    expect(woke).toBe(true);
    await signal.next(1); // bounded: resolves without a fire
  });
});
