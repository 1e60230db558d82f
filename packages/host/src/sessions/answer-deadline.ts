/**
 * How long a worker has to answer a request the host sends it (a query, cancel, continue). A worker
 * answers these between its own steps: a turn's model call and tool runs are asynchronous, so even a busy
 * worker answers within milliseconds. One that stays silent this long is stuck (stopped, or its event
 * loop blocked) and is killed and restarted as after a crash (worker-handle.ts `ask`); without a deadline
 * it held the chat's command, and with it the Telegram poller and every other chat, forever.
 */
export const WORKER_ANSWER_MS = 15_000;

/**
 * Test-only: `STARLING_TEST_WORKER_ANSWER_MS` (a whole number of ms, 100 to 600 000) replaces WORKER_ANSWER_MS,
 * so an end-to-end test sees a stuck worker killed within seconds. Not a setting: the default suits users
 * (docs/ARCHITECTURE.md §2, test/e2e/stuck-worker.test.ts).
 */
export const WORKER_ANSWER_ENV = "STARLING_TEST_WORKER_ANSWER_MS";

/** The deadline `STARLING_TEST_WORKER_ANSWER_MS` names, undefined when unset; a bad value throws, naming the problem. */
export function workerAnswerMsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[WORKER_ANSWER_ENV];
  if (raw === undefined || raw === "") return undefined;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || ms < 100 || ms > 600_000) {
    throw new Error(`${WORKER_ANSWER_ENV} must be a whole number of milliseconds from 100 to 600000, not ${JSON.stringify(raw)}; unset it for the default ${WORKER_ANSWER_MS}`);
  }
  return ms;
}

/** A request the worker did not answer within the deadline; the worker was killed for it (a crash restart follows). */
export class WorkerNoAnswer extends Error {
  constructor(
    readonly method: string,
    readonly ms: number,
  ) {
    super(`the worker did not answer ${method} within ${seconds(ms)}`);
    this.name = "WorkerNoAnswer";
  }
}

/**
 * A supervisor query or cancel found the session's worker stuck and killed it (its exit already handled as a
 * crash). `turnId`: the turn the host knew it was running, or null. Commands tell the user what happened.
 */
export class StuckWorkerKilled extends Error {
  constructor(
    readonly noAnswer: WorkerNoAnswer,
    readonly turnId: number | null,
  ) {
    super(`${noAnswer.message}; it was killed`);
    this.name = "StuckWorkerKilled";
  }
}

/** A `.catch` for a supervisor request: the StuckWorkerKilled a command tells the user about, any other failure as null. */
export function stuckOrNull(err: unknown): StuckWorkerKilled | null {
  return err instanceof StuckWorkerKilled ? err : null;
}

/** "15 s", "2.5 s": a deadline as the user reads it. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}

/**
 * `request`'s answer, or WorkerNoAnswer once `ms` passed without one; then `onNoAnswer` runs (it kills the
 * worker) and is awaited before the rejection, so the caller sees the session after the exit. The request's
 * own later failure (the worker killed under it) is dropped.
 */
export async function answerWithin<T>(request: Promise<T>, method: string, ms: number, onNoAnswer: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  void request.then(
    () => (settled = true),
    () => (settled = true),
  );
  const late = Symbol("late");
  const timeout = new Promise<typeof late>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  try {
    const first = await Promise.race([request, timeout]);
    if (first !== late) return first;
  } finally {
    clearTimeout(timer);
  }
  // A host whose own event loop was held past the deadline runs the timer before reading what arrived
  // meanwhile: an answer already in the pipe is read in this turn's poll phase, before setImmediate.
  await new Promise((resolve) => setImmediate(resolve));
  if (settled) return request;
  await onNoAnswer();
  throw new WorkerNoAnswer(method, ms);
}
