/**
 * The value of an environment variable, parsed; parsed again whenever the variable differs from what
 * was parsed: a worker started from its start-up snapshot inherits this module's state from the build,
 * which ran turns (snapshot-warmup-turn.ts) without the variable, and must still see the one it was
 * started with.
 */
function fromEnv<T>(variable: string, parse: (fields: string[]) => T): () => T | null {
  let parsed: { raw: string | undefined; value: T | null } | undefined;
  return () => {
    const raw = process.env[variable];
    if (!parsed || parsed.raw !== raw) parsed = { raw, value: raw ? parse(raw.split(":")) : null };
    return parsed.value;
  };
}

/** Counts one more pass of `name` in `counts` and returns the count. */
function passed(counts: Map<string, number>, name: string): number {
  const seen = (counts.get(name) ?? 0) + 1;
  counts.set(name, seen);
  return seen;
}

/**
 * Crash points (ARCHITECTURE §5.6). With `STARLING_CRASH_AT=<point>[:<n>]` the process SIGKILLs itself
 * the n-th time (default 1st) it passes `point`. Each durable commit calls `crashPoint(name)` right
 * after its sync write, so a test can prove that what was written survives and what was not is redone.
 */
const counts = new Map<string, number>();
const target = fromEnv("STARLING_CRASH_AT", ([point, n]) => ({ point: point ?? "", n: Number.parseInt(n ?? "", 10) || 1 }));

export function crashPoint(name: string): void {
  const t = target();
  if (!t || t.point !== name) return;
  if (passed(counts, name) === t.n) process.kill(process.pid, "SIGKILL");
}

/**
 * Disk faults (issue #7): with `STARLING_FAIL_AT=<point>[:<n>[:<count>]]` the n-th write (default 1st) at
 * `point`, and the `count - 1` writes after it there (default 1 in all), throw an I/O error before anything
 * is written, as a failing disk would. Tests use it to prove a failed write is reported, loses nothing
 * acknowledged and leaves the process serving.
 */
const failCounts = new Map<string, number>();
const failTarget = fromEnv("STARLING_FAIL_AT", ([point, n, count]) => ({
  point: point ?? "",
  n: Number.parseInt(n ?? "", 10) || 1,
  count: Number.parseInt(count ?? "", 10) || 1,
}));

export class InjectedIoError extends Error {
  readonly code = "EIO";
  constructor(point: string) {
    super(`EIO: i/o error writing the database at commit point ${point} (injected by STARLING_FAIL_AT)`);
    this.name = "InjectedIoError";
  }
}

export function failPoint(name: string): void {
  const t = failTarget();
  if (!t || t.point !== name) return;
  const seen = passed(failCounts, name);
  if (seen >= t.n && seen < t.n + t.count) throw new InjectedIoError(name);
}

/**
 * A stalled disk (a sync write that takes seconds, as an fsync behind a busy disk's journal can): with
 * `STARLING_STALL_AT=<point>:<ms>[:<n>]` the n-th write at `point` (default 1st) is held for `ms`, and so
 * is every write of the same store that comes while it is held (LevelDB writes one batch at a time).
 * Returns the ms this write is to wait (0: none). Tests use it to see what a host says while its writes
 * wait, e.g. test/e2e/giveup.test.ts.
 */
const stallCounts = new Map<string, number>();
const stallTarget = fromEnv("STARLING_STALL_AT", ([point, ms, n]) => ({
  point: point ?? "",
  ms: Number.parseInt(ms ?? "", 10) || 0,
  n: Number.parseInt(n ?? "", 10) || 1,
}));

export function stallPoint(name: string): number {
  const t = stallTarget();
  if (!t || t.point !== name) return 0;
  return passed(stallCounts, name) === t.n ? t.ms : 0;
}

/**
 * A write that reached the disk but was reported as failed (an fsync that fails after the log record
 * was written): with `STARLING_FAIL_AFTER_WRITE_AT=<point>[:<n>]` the n-th write at `point` (default 1st)
 * is made, then throws LevelDB's I/O error. A worker's reopen then finds the journal ahead of what it
 * believes stored (its "diverged" exit).
 */
const afterWriteCounts = new Map<string, number>();
const afterWriteTarget = fromEnv("STARLING_FAIL_AFTER_WRITE_AT", ([point, n]) => ({ point: point ?? "", n: Number.parseInt(n ?? "", 10) || 1 }));

export class InjectedLevelIoError extends Error {
  /** The code classic-level gives its I/O errors. */
  readonly code = "LEVEL_IO_ERROR";
  constructor(point: string) {
    super(`IO error: sync failed after the write at commit point ${point} (injected by STARLING_FAIL_AFTER_WRITE_AT)`);
    this.name = "InjectedLevelIoError";
  }
}

export function failAfterWritePoint(name: string): void {
  const t = afterWriteTarget();
  if (!t || t.point !== name) return;
  if (passed(afterWriteCounts, name) === t.n) throw new InjectedLevelIoError(name);
}

/** Commit points of a worker (session store). Each is one atomic sync batch. */
export const WORKER_CRASH_POINTS = [
  "enqueue",
  "turn_start",
  "model_answer",
  "tool_intent",
  "tool_result",
  "turn_end",
  "turn_failed",
  "turn_cancelled",
  "turn_given_up",
  "turn_superseded",
  "turn_resume",
  "recovery",
  "compaction",
  "ack_events",
  "seed_history",
] as const;
export type WorkerCrashPoint = (typeof WORKER_CRASH_POINTS)[number];

/**
 * Durable writes of a worker outside the session store: a download's status file before any byte
 * is fetched (`download_start`) and after it ended (`download_end`), tested by core's download tests;
 * the images a model returned, once saved and before the answer naming them is stored (`model_images`,
 * passed only when a file was newly written), tested by test/e2e/model-images.test.ts; a media job's record before
 * its helper model is asked (`media_job_start`) and once it ended (`media_job_end`), tested by core's media job tests.
 */
export const TOOL_CRASH_POINTS = ["download_start", "download_end", "media_job_start", "media_job_end", "model_images"] as const;
export type ToolCrashPoint = (typeof TOOL_CRASH_POINTS)[number];
