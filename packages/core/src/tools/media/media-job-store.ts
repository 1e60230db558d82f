import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { crashPoint, lazySchema } from "@starling/protocol";

/** Ended records are kept this long, so a worker that restarts (idle shutdown, crash, a changed setting) still has them. */
export const MEDIA_JOB_KEEP_MS = 7 * 24 * 3600 * 1000;

/** Job ids the jobs make (`<prefix>_<base36>`); anything else is never used as a file name. */
const JOB_ID = /^[a-z][a-z_]{0,40}_[0-9a-z]{1,40}$/;

/**
 * One media job's record as stored. A job's files are not kept: `.starling/` is read-only inside bubblewrap and the
 * file tools refuse it, but a shell command in subprocess mode can write it, so a record is read as untrusted text and
 * never attaches a file (an image generation's text already names where it saved its images).
 */
const mediaJobRecord = lazySchema(() =>
  z.object({
    id: z.string().regex(JOB_ID),
    state: z.enum(["running", "completed", "failed", "cancelled"]),
    text: z.string().optional(),
    /** How many files the first answer attached (they are not attached again). */
    files: z.number().int().nonnegative().optional(),
    error: z.string().optional(),
    started_at: z.string(),
    ended_at: z.string().optional(),
  }),
);
export type MediaJobRecord = z.infer<ReturnType<typeof mediaJobRecord>>;

/**
 * Durable records of one session's media jobs (image, PDF and audio analysis, image generation): one small JSON file
 * per job under `<workspace>/.starling/media-jobs/<session>/`, written atomically (temp file + rename, flushed) at two
 * named points: `media_job_start` (before the helper model is asked) and `media_job_end` (the answer, failure or stop,
 * before the job's state changes in memory). A job's answer thus outlives the worker that asked for it: a
 * `return_immediate` job finished while the worker idled out, crashed or restarted is still answered. A record still
 * saying running that no live job of this worker owns was cut off by a restart.
 */
export class MediaJobStore {
  private pruned = false;

  constructor(readonly dir: string) {}

  static isJobId(id: string): boolean {
    return JOB_ID.test(id);
  }

  /** Durable write of a record at a named point; the caller changes memory only after it returns. */
  save(record: MediaJobRecord, point: "media_job_start" | "media_job_end"): void {
    if (!this.pruned) this.prune();
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${record.id}.json`);
    const temp = `${file}.tmp`;
    writeFileSync(temp, JSON.stringify(record), { flush: true });
    renameSync(temp, file);
    crashPoint(point);
  }

  /** The stored record of `id`, or null (none, not a job id, or a torn or foreign file). */
  read(id: string): MediaJobRecord | null {
    if (!MediaJobStore.isJobId(id)) return null;
    try {
      const record = mediaJobRecord().parse(JSON.parse(readFileSync(join(this.dir, `${id}.json`), "utf8")));
      return record.id === id ? record : null;
    } catch {
      return null;
    }
  }

  /** Once per worker, before its first write: records ended (or started, if never ended) over a week ago go. */
  private prune(): void {
    this.pruned = true;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const before = Date.now() - MEDIA_JOB_KEEP_MS;
    for (const name of names) {
      const file = join(this.dir, name);
      try {
        if (statSync(file).mtimeMs < before) rmSync(file, { force: true });
      } catch {
        // gone meanwhile, or not ours to stat: leave it
      }
    }
  }
}
