import type { FileItem } from "@starling/protocol";

export interface JobResult {
  text: string;
  files: FileItem[];
}

type JobState = { state: "running" } | { state: "completed"; result: JobResult } | { state: "failed"; error: string } | { state: "cancelled" };

interface Job {
  controller: AbortController;
  state: JobState;
  done: Promise<void>;
}

/**
 * Background helper-model requests of one session (media analysis, image generation). In memory
 * only: a job does not survive the worker, and waiting on an id from before a restart says so.
 * A finished job's result is handed out once, then the job is forgotten (as in the reference).
 */
export class MediaJobs {
  private readonly jobs = new Map<string, Job>();
  private counter = 0;

  start(prefix: string, run: (signal: AbortSignal) => Promise<JobResult>): string {
    const id = `${prefix}_${Date.now().toString(36)}${(++this.counter).toString(36)}`;
    const job: Job = { controller: new AbortController(), state: { state: "running" }, done: Promise.resolve() };
    job.done = run(job.controller.signal).then(
      (result) => {
        if (job.state.state === "running") job.state = { state: "completed", result };
      },
      (error: unknown) => {
        if (job.state.state === "running") job.state = { state: "failed", error: error instanceof Error ? error.message : String(error) };
      },
    );
    this.jobs.set(id, job);
    return id;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Waits up to `ms` (or until `signal` aborts); a finished job is removed as it is returned. */
  async wait(id: string, ms: number, signal: AbortSignal): Promise<JobState | { state: "interrupted" } | null> {
    const job = this.jobs.get(id);
    if (!job) return null;
    if (job.state.state === "running" && ms > 0) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort = (): void => undefined;
      await Promise.race([
        job.done,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
        new Promise<void>((resolve) => {
          onAbort = resolve;
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (job.state.state === "running" && signal.aborted) return { state: "interrupted" };
    }
    if (job.state.state !== "running") this.jobs.delete(id);
    return job.state;
  }

  /** Cancels a job (aborting its request) and forgets it; unknown ids are fine. */
  stop(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.state = { state: "cancelled" };
    job.controller.abort();
    this.jobs.delete(id);
  }

  running(): number {
    return [...this.jobs.values()].filter((job) => job.state.state === "running").length;
  }

  /** Cancels every job; how many were still running. */
  stopAll(): number {
    const running = this.running();
    for (const id of [...this.jobs.keys()]) this.stop(id);
    return running;
  }
}
