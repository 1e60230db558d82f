import { assign, createActor, fromPromise, setup, type Actor } from "xstate";
import type { TurnRecord } from "../store/records.js";
import { isContextOverflow } from "../providers/types.js";
import { compact, needsCompaction, type CompactionSettings } from "./compaction.js";
import { COMPACTION_CANCELLED, CompactionRun, compactNow, requestFrame } from "./manual-compaction.js";
import { classifyFailure, runModelStep, type ModelStepOutcome } from "./model-step.js";
import type { SessionDeps, TurnFailure } from "./session-deps.js";
import { runToolBatch } from "./tool-batch.js";
import { TurnControl } from "./turn-control.js";
import { WorkerStopping } from "../tools/errors.js";

export type SessionMachineEvent =
  /** The store's queue has something. `interrupt`: a user message, which supersedes a running turn. */
  | { type: "INPUT"; interrupt?: boolean }
  | { type: "CANCEL"; reason?: string }
  | { type: "CONTINUE"; reason?: string }
  /** End the unfinished turn `turnId` (waiting for a continue) for good. */
  | { type: "END_UNFINISHED"; turnId: number; reason?: string }
  /** Compact the history now (the host's `session/compact`); only while resting. */
  | { type: "COMPACT" }
  | { type: "SHUTDOWN" };

export interface SessionMachineContext {
  /** The session's store, journal, tools and provider (the machine itself is made once, at module load). */
  deps: SessionDeps;
  /** `turn_start` writes that failed in a row (after the store's own retries): the next try waits longer. */
  startFailures: number;
  /** Turn-ending writes (failed, cancelled, superseded) that failed in a row: the same ending is tried again later. */
  endFailures: number;
  turn: TurnRecord | null;
  control: TurnControl | null;
  failure: TurnFailure | null;
  cancelReason: string | undefined;
  /** Compactions forced by the provider refusing the current model call as too long (reset when a call succeeds). */
  overflowCompactions: number;
  /** A compaction the host asked for (state `compacting`): /cancel and shutdown stop it; a shutdown waits for its outcome. */
  compactRun: CompactionRun | null;
}

interface TurnInput {
  deps: SessionDeps;
  turn: TurnRecord;
  control: TurnControl;
}

/** After a failed `turn_start`, the first new try waits this long; doubled per failure, capped. */
const START_RETRY_MS = 1_000;
const START_RETRY_MAX_MS = 30_000;
const retryDelay = (failures: number): number => Math.min(START_RETRY_MAX_MS, START_RETRY_MS * 2 ** Math.max(0, failures - 1));

/** After a refusal as too long, compaction is forced at most this many times per model call before the turn fails. */
const MAX_OVERFLOW_COMPACTIONS = 2;

/**
 * Tokens a compaction keeps verbatim: the configured recent part when the threshold or the window
 * triggered it, or after the provider first refused the request as too long; then nothing but the
 * newest message. Null (no compression settings): what the model's window leaves room for.
 */
function retainTokens(configured: CompactionSettings | null, overflow: number): number | null {
  return overflow <= 1 ? (configured?.retainRecentTokens ?? null) : 0;
}


const turnInput = ({ context }: { context: SessionMachineContext }): TurnInput => ({
  deps: context.deps,
  turn: context.turn!,
  control: context.control!,
});

/**
 * The SessionActor (ARCHITECTURE §4). The journal in the store is the source of truth: every state that
 * changes history does it through one named commit, and the machine only decides what happens next.
 * Control events (CANCEL, CONTINUE, SHUTDOWN) are accepted in every state where they mean something;
 * INPUT only says "the queue in the store has something" — the data itself never rides on the event.
 */
export const sessionMachine = setup({
  types: {
    context: {} as SessionMachineContext,
    events: {} as SessionMachineEvent,
    input: {} as SessionDeps,
  },
  actors: {
    beginTurn: fromPromise<TurnRecord | null, SessionDeps>(async ({ input: deps }) => deps.journal.beginTurn((await deps.turnNotice?.()) ?? null)),
    resumeTurn: fromPromise<TurnRecord | null, SessionDeps>(({ input: deps }) => deps.journal.resumeTurn()),
    compactHistory: fromPromise<unknown, TurnInput & { overflow: number }>(({ input }) =>
      input.control.track(
        (async () => {
          input.control.otherPhaseShown = true;
          const { deps } = input;
          void deps.store.emitEphemeral({ type: "progress", turnId: input.turn.turnId, phase: "compacting" });
          try {
            await compact(
              deps.store,
              deps.provider,
              retainTokens(deps.compression, input.overflow),
              input.control.modelSignal,
              requestFrame(deps),
              deps.window,
              deps.tools.openFile?.bind(deps.tools),
              deps.refusedUrls,
            );
          } catch (err) {
            // A failed summary leaves the full history in place; the turn goes on without it.
            if (!input.control.stopped) deps.log.warn({ err: String(err) }, "compaction failed; continuing uncompacted");
          }
        })(),
      ),
    ),
    compactNow: fromPromise<void, { deps: SessionDeps; run: CompactionRun }>(({ input }) => (input.run.done = compactNow(input.deps, requestFrame(input.deps), input.run.stop.signal))),
    /**
     * MCP servers start (first call) or re-list their tools (list_changed) before the window check, so the
     * check counts the toolset the request will carry; once per model call, and only when one is made.
     */
    prepareTools: fromPromise<void, TurnInput>(({ input }) => input.control.track(input.deps.tools.prepare?.(input.control.modelSignal) ?? Promise.resolve())),
    callModel: fromPromise<ModelStepOutcome, TurnInput>(({ input }) =>
      input.control.track(runModelStep(input.deps, input.turn, input.control)),
    ),
    runTools: fromPromise<void, TurnInput>(({ input }) => input.control.track(runToolBatch(input.deps, input.turn, input.control))),
    failTurn: fromPromise<void, { deps: SessionDeps; turn: TurnRecord; failure: TurnFailure }>(({ input }) =>
      input.deps.journal.failTurn(input.turn, input.failure.error, input.failure.canContinue),
    ),
    finishCancelled: fromPromise<void, TurnInput & { reason?: string }>(async ({ input }) => {
      await input.control.idle();
      // The stopped step may have finished the turn just before the cancel reached it.
      const { journal } = input.deps;
      const current = journal.currentTurn;
      if (current?.status === "running") await journal.cancelTurn(current, input.reason);
    }),
    endUnfinished: fromPromise<boolean, { deps: SessionDeps; turnId: number; reason?: string }>(({ input }) =>
      input.deps.journal.endUnfinished(input.turnId, input.reason),
    ),
    finishSuperseded: fromPromise<void, TurnInput>(async ({ input }) => {
      await input.control.idle();
      // A /cancel (or shutdown) that came while the turn was yielding ends it instead: one ending per turn.
      if (input.control.cancel.signal.aborted) return;
      const { journal } = input.deps;
      const current = journal.currentTurn;
      // The stopped step may have completed the turn just before it noticed the interrupt.
      if (current?.status === "running") await journal.supersedeTurn(current);
    }),
  },
  delays: {
    startRetryDelay: ({ context }) => retryDelay(context.startFailures),
    endRetryDelay: ({ context }) => retryDelay(context.endFailures),
  },
  guards: {
    hasQueuedInput: ({ context }) => context.deps.store.queue.length > 0,
    hasUnfinishedTurn: ({ context }) => context.deps.journal.isUnfinished(),
    startedTurn: ({ event }) => (event as unknown as { output: TurnRecord | null }).output !== null,
    stepLimitReached: ({ context }) => (context.turn?.steps ?? 0) >= context.deps.stepLimit,
    hasPendingCalls: ({ context }) => context.deps.journal.pendingCalls().length > 0,
    // Without tool sources (no MCP servers) there is nothing to prepare: no extra invoked step per model call.
    toolsToPrepare: ({ context: { deps } }) => deps.tools.prepare !== undefined && deps.tools.preparable !== false,
    shouldCompact: ({ context: { deps } }) => needsCompaction(deps.store, deps.compression, deps.provider.config, requestFrame(deps), deps.window.window),
    // Only a user message supersedes a running turn; an actor message waits for the next turn (§4).
    interruptingInput: ({ event }) => event.type === "INPUT" && event.interrupt !== false,
    /** The provider refused the request as too long: compact (again) and retry, a bounded number of times. */
    overflowCanCompact: ({ context, event }) =>
      isContextOverflow((event as unknown as { error?: unknown }).error) && context.overflowCompactions < MAX_OVERFLOW_COMPACTIONS,
    answerHasTools: ({ event }) => (event as unknown as { output: ModelStepOutcome }).output.kind === "tools",
  },
  actions: {
    stopTurn: ({ context }) => {
      context.control?.cancel.abort(new Error("cancelled"));
      // Tracked, so the turn is reported cancelled only once every process and download it started is gone.
      const stopped = context.deps.tools.killAll();
      if (context.control) context.control.track(stopped);
      else void stopped;
    },
    interruptTurn: ({ context }) => context.control?.interrupt.abort(new Error("superseded")),
    /**
     * A turn-ending write failed even after the store's retries (disk error). Nothing was written, so the
     * journal still holds the turn as running: the same ending is tried again with backoff instead of
     * crashing the worker (a restart would only auto-continue a turn the user cancelled). Should the
     * worker die meanwhile, startup recovery finds the running turn and offers it as usual.
     */
    endWriteFailed: assign({
      endFailures: ({ context, event }) => {
        const failures = context.endFailures + 1;
        const err = (event as unknown as { error?: unknown }).error;
        context.deps.log.error({ err: String(err), failures, retryInMs: retryDelay(failures) }, "could not store the end of the turn; trying again");
        return failures;
      },
    }),
    endWriteStored: assign({ endFailures: 0 }),
  },
}).createMachine({
  id: "session",
  context: ({ input }) => ({
    deps: input,
    startFailures: 0,
    endFailures: 0,
    turn: null,
    control: null,
    failure: null,
    cancelReason: undefined,
    overflowCompactions: 0,
    compactRun: null,
  }),
  initial: "initializing",
  on: { SHUTDOWN: ".stopping" },
  states: {
    initializing: {
      always: [
        { guard: "hasQueuedInput", target: "starting" },
        { guard: "hasUnfinishedTurn", target: "awaitingContinue" },
        { target: "idle" },
      ],
    },
    idle: { on: { INPUT: "starting", COMPACT: "compacting" } },
    // A compaction the host asked for. Messages that come meanwhile wait in the queue: afterTurn starts them.
    compacting: {
      entry: assign({ compactRun: () => new CompactionRun() }),
      invoke: {
        src: "compactNow",
        input: ({ context }) => ({ deps: context.deps, run: context.compactRun! }),
        onDone: { target: "afterTurn", actions: assign({ compactRun: null }) },
        // Only a failed write of its outcome gets here (the summary's own failure is the outcome).
        onError: {
          target: "afterTurn",
          actions: [assign({ compactRun: null }), ({ context, event }) => context.deps.log.error({ err: String(event.error) }, "could not store a compaction's outcome")],
        },
      },
      on: { CANCEL: { actions: ({ context }) => context.compactRun?.stop.abort(new Error(COMPACTION_CANCELLED)) } },
    },
    awaitingContinue: { on: { INPUT: "starting", CONTINUE: "resuming", END_UNFINISHED: "endingUnfinished" } },
    endingUnfinished: {
      invoke: {
        src: "endUnfinished",
        input: ({ context, event }) => ({
          deps: context.deps,
          turnId: event.type === "END_UNFINISHED" ? event.turnId : -1,
          reason: event.type === "END_UNFINISHED" ? event.reason : undefined,
        }),
        onDone: "afterTurn",
        // Nothing was written: the turn still waits, and the host asks again at the worker's next start.
        onError: {
          target: "afterTurn",
          actions: ({ context, event }) => context.deps.log.error({ err: String(event.error) }, "could not store the end of an unfinished turn"),
        },
      },
    },
    starting: {
      invoke: {
        src: "beginTurn",
        input: ({ context }) => context.deps,
        onDone: [
          {
            guard: "startedTurn",
            target: "turn",
            actions: assign({ turn: ({ event }) => event.output, control: () => new TurnControl(), failure: null, startFailures: 0, overflowCompactions: 0 }),
          },
          { target: "afterTurn", actions: assign({ startFailures: 0 }) },
        ],
        onError: {
          target: "startBackoff",
          actions: [
            assign({ startFailures: ({ context }) => context.startFailures + 1 }),
            ({ context, event }) => context.deps.log.error({ err: String(event.error), failures: context.startFailures }, "a turn could not start; trying again"),
          ],
        },
      },
    },
    // The queued input stays in the store (the failed write took nothing): the turn is started again later.
    startBackoff: {
      after: { startRetryDelay: "starting" },
      on: { INPUT: "starting", CONTINUE: "starting" },
    },
    resuming: {
      invoke: {
        src: "resumeTurn",
        input: ({ context }) => context.deps,
        onDone: [
          {
            guard: "startedTurn",
            target: "turn",
            actions: assign({ turn: ({ event }) => event.output, control: () => new TurnControl(), failure: null, overflowCompactions: 0 }),
          },
          { target: "afterTurn" },
        ],
        onError: "crashed",
      },
    },
    turn: {
      initial: "deciding",
      states: {
        deciding: {
          always: [
            {
              guard: "stepLimitReached",
              target: "failing",
              actions: assign({
                failure: ({ context }) => ({
                  error: {
                    kind: "step_limit" as const,
                    message: `the turn reached the limit of ${context.deps.stepLimit} model calls; send /continue to go on`,
                  },
                  canContinue: true,
                }),
              }),
            },
            { guard: "hasPendingCalls", target: "runningTools" },
            { guard: "toolsToPrepare", target: "preparing" },
            { target: "checkingWindow" },
          ],
        },
        preparing: {
          invoke: {
            src: "prepareTools",
            input: turnInput,
            // A server that cannot start is in its status, not the turn's: the model is called without its tools.
            onDone: "checkingWindow",
            onError: {
              target: "checkingWindow",
              actions: ({ context, event }) => context.deps.log.warn({ err: String(event.error) }, "preparing the tool servers failed"),
            },
          },
          on: { INPUT: { guard: "interruptingInput", target: "interrupting" }, CANCEL: "cancelling" },
        },
        checkingWindow: {
          always: [{ guard: "shouldCompact", target: "compacting" }, { target: "callingModel" }],
        },
        compacting: {
          invoke: {
            src: "compactHistory",
            input: ({ context }) => ({ ...turnInput({ context }), overflow: context.overflowCompactions }),
            onDone: "callingModel",
            onError: "callingModel",
          },
          on: { INPUT: { guard: "interruptingInput", target: "interrupting" }, CANCEL: "cancelling" },
        },
        callingModel: {
          invoke: {
            src: "callModel",
            input: turnInput,
            onDone: [
              {
                guard: "answerHasTools",
                target: "runningTools",
                actions: assign({ turn: ({ event }) => event.output.turn, overflowCompactions: 0 }),
              },
              { target: "#session.afterTurn", actions: assign({ turn: ({ event }) => event.output.turn, overflowCompactions: 0 }) },
            ],
            onError: [
              {
                guard: "overflowCanCompact",
                target: "compacting",
                actions: [
                  assign({ overflowCompactions: ({ context }) => context.overflowCompactions + 1 }),
                  // Later window checks use the window the refusal states: the provider refuses once, not whenever the history grows back.
                  ({ context, event }) => context.deps.window.refused(event.error),
                  ({ context, event }) =>
                    context.deps.log.warn({ err: String(event.error), attempt: context.overflowCompactions }, "the model refused the request as too long; compacting and retrying"),
                ],
              },
              {
                target: "failing",
                actions: assign({ failure: ({ event }) => classifyFailure(event.error) }),
              },
            ],
          },
          on: { INPUT: { guard: "interruptingInput", target: "interrupting" }, CANCEL: "cancelling" },
        },
        runningTools: {
          invoke: {
            src: "runTools",
            input: turnInput,
            onDone: "deciding",
            // A journal write that failed even after its retries (disk error): the turn fails and can be continued.
            onError: { target: "failing", actions: assign({ failure: ({ event }) => classifyFailure(event.error) }) },
          },
          on: { INPUT: { guard: "interruptingInput", target: "interrupting" }, CANCEL: "cancelling" },
        },
        interrupting: {
          entry: "interruptTurn",
          invoke: {
            src: "finishSuperseded",
            input: turnInput,
            onDone: { target: "#session.afterTurn", actions: "endWriteStored" },
            onError: { target: "interruptRetry", actions: "endWriteFailed" },
          },
          on: { CANCEL: "cancelling" },
        },
        interruptRetry: { after: { endRetryDelay: "interrupting" }, on: { CANCEL: "cancelling" } },
        cancelling: {
          entry: ["stopTurn", assign({ cancelReason: ({ event }) => (event.type === "CANCEL" ? event.reason : undefined) })],
          initial: "storing",
          states: {
            storing: {
              invoke: {
                src: "finishCancelled",
                input: ({ context }) => ({ ...turnInput({ context }), reason: context.cancelReason }),
                onDone: { target: "#session.afterTurn", actions: "endWriteStored" },
                onError: { target: "retry", actions: "endWriteFailed" },
              },
            },
            retry: { after: { endRetryDelay: "storing" } },
          },
        },
        failing: {
          invoke: {
            src: "failTurn",
            input: ({ context }) => ({ deps: context.deps, turn: context.turn!, failure: context.failure! }),
            onDone: { target: "#session.afterTurn", actions: "endWriteStored" },
            onError: { target: "failRetry", actions: "endWriteFailed" },
          },
        },
        failRetry: { after: { endRetryDelay: "failing" } },
      },
    },
    afterTurn: {
      entry: assign({ control: null }),
      always: [
        { guard: "hasQueuedInput", target: "starting" },
        { guard: "hasUnfinishedTurn", target: "awaitingContinue" },
        { target: "idle" },
      ],
    },
    crashed: { type: "final" },
    stopping: {
      entry: ({ context }) => {
        // Shutdown leaves the turn `running` in the journal: the next start recovers it.
        if (context.control) context.control.shuttingDown = true;
        context.control?.interrupt.abort(new WorkerStopping());
        context.control?.cancel.abort(new WorkerStopping());
        context.compactRun?.stop.abort(new WorkerStopping());
        void context.deps.tools.killAll();
      },
      type: "final",
    },
  },
});

export type SessionMachine = typeof sessionMachine;

/** A SessionActor for one session (not started). */
export function createSessionActor(deps: SessionDeps): Actor<SessionMachine> {
  return createActor(sessionMachine, { input: deps });
}
