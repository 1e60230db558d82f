import { realpathSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileItem } from "@starling/protocol";
import type { MediaJobRecord, MediaJobStore } from "./media-job-store.js";

export interface JobResult {
  text: string;
  files: FileItem[];
}

type JobState = { state: "running" } | { state: "completed"; result: JobResult } | { state: "failed"; error: string } | { state: "cancelled" };

interface Job {
  controller: AbortController;
  state: JobState;
  done: Promise<void>;
  startedAt: string;
}

/**
 * Background helper-model requests of one session (media analysis, image generation). Live jobs are in memory; with
 * a store (the worker always has one) each job's start and end are recorded on disk, so an answer that came after its
 * turn ended is still there for a later worker (an idle shutdown, a crash or a settings restart in between), a job cut
 * off by a restart says so, and waiting again on an ended job gives its answer again (its files are attached only the
 * first time: a stored record is the agent's to write, see media-job-store.ts).
 */
export class MediaJobs {
  /** Jobs of this worker still running or ended but not yet waited for. */
  private readonly jobs = new Map<string, Job>();
  private counter = 0;
  /** The worker is stopping: a job cut off now keeps its `running` record, which the next worker reports interrupted. */
  private stopping = false;

  constructor(
    private readonly store: MediaJobStore | null = null,
    /** The workspace the jobs' files are in (their records name them relative to it). */
    private readonly workspace = "",
  ) {}

  /** Starts a job once its start is recorded (a failed write fails the call, and nothing was asked). */
  start(prefix: string, run: (signal: AbortSignal) => Promise<JobResult>): string {
    const id = `${prefix}_${Date.now().toString(36)}${(++this.counter).toString(36)}`;
    const startedAt = new Date().toISOString();
    this.store?.save({ id, state: "running", started_at: startedAt }, "media_job_start");
    const job: Job = { controller: new AbortController(), state: { state: "running" }, done: Promise.resolve(), startedAt };
    job.done = run(job.controller.signal).then(
      (result) => this.end(id, job, { state: "completed", result }),
      (error: unknown) => this.end(id, job, { state: "failed", error: error instanceof Error ? error.message : String(error) }),
    );
    this.jobs.set(id, job);
    return id;
  }

  /**
   * Waits up to `ms` (or until `signal` aborts) for a job of this worker; an ended one, or one of an earlier worker,
   * is answered from its record. Null: no such job.
   */
  async wait(id: string, ms: number, signal: AbortSignal): Promise<JobState | { state: "interrupted" } | null> {
    const job = this.jobs.get(id);
    if (!job) return this.stored(id);
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

  /** Cancels a job (aborting its request); unknown or ended ids are fine. */
  stop(id: string): void {
    const job = this.jobs.get(id);
    if (!job || job.state.state !== "running") return;
    if (!this.stopping) this.record(id, job, { state: "cancelled" });
    job.state = { state: "cancelled" };
    job.controller.abort();
    this.jobs.delete(id);
  }

  running(): number {
    return [...this.jobs.values()].filter((job) => job.state.state === "running").length;
  }

  /** The worker shuts down (a restart for a setting, /new, the host stopping): jobs stopped from now on were interrupted, not cancelled. */
  beforeShutdown(): void {
    this.stopping = true;
  }

  /** Cancels every job; how many were still running. */
  stopAll(): number {
    const running = this.running();
    for (const id of [...this.jobs.keys()]) this.stop(id);
    return running;
  }

  /** The job's end, recorded before its state changes (a job stopped meanwhile keeps its stop). */
  private end(id: string, job: Job, state: Exclude<JobState, { state: "running" }>): void {
    if (job.state.state !== "running") return;
    this.record(id, job, state);
    job.state = state;
  }

  /**
   * Writes the end record. A failed write (a full disk) does not take the answer from this worker, which has it in
   * memory and hands it out; only a later worker would find the record still running and call the job interrupted.
   */
  private record(id: string, job: Job, state: Exclude<JobState, { state: "running" }>): void {
    if (!this.store) return;
    const record: MediaJobRecord = { id, state: state.state, started_at: job.startedAt, ended_at: new Date().toISOString() };
    if (state.state === "completed") {
      record.text = state.result.text;
      if (state.result.files.length) record.file_paths = state.result.files.slice(0, 32).map((file) => this.displayPath(file));
    }
    if (state.state === "failed") record.error = state.error;
    try {
      this.store.save(record, "media_job_end");
    } catch {
      // see above
    }
  }

  /** A file's path as the agent names it: relative to the workspace, else its name. */
  private displayPath(file: FileItem): string {
    try {
      const abs = fileURLToPath(file.uri);
      const rel = this.workspace ? relative(realpathSync(this.workspace), abs) : "";
      return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file.name ?? abs;
    } catch {
      return file.name ?? file.uri;
    }
  }

  /** A job this worker no longer holds, from its record. */
  private stored(id: string): JobState | null {
    const record = this.store?.read(id);
    if (!record) return null;
    switch (record.state) {
      case "running":
        return { state: "failed", error: "interrupted: the session's worker stopped (a restart or a crash) while this job ran. Start it again." };
      case "completed": {
        const paths = record.file_paths ?? [];
        const files = paths.length ? `\n(${paths.length === 1 ? "The file" : "The files"} of this answer, not attached here: ${paths.join(", ")}. image_load or pdf_load shows one.)` : "";
        return { state: "completed", result: { text: `${record.text ?? ""}${files}`, files: [] } };
      }
      case "failed":
        return { state: "failed", error: record.error ?? "failed" };
      case "cancelled":
        return { state: "cancelled" };
    }
  }
}
