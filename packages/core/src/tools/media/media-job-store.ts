import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { z } from "zod";
import { ConfinedDir, crashPoint, lazySchema } from "@starling/protocol";

/** Ended records are kept this long, so a worker that restarts (idle shutdown, crash, a changed setting) still has them. */
export const MEDIA_JOB_KEEP_MS = 7 * 24 * 3600 * 1000;
/** A record larger than this is not read (an answer is far smaller; anything bigger was not written here). */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Job ids the jobs make (`<prefix>_<base36>`); anything else is never used as a file name. */
const JOB_ID = /^[a-z][a-z_]{0,40}_[0-9a-z]{1,40}$/;

/**
 * One media job's record as stored. `.starling/` is read-only inside bubblewrap and the file tools refuse it, but a
 * shell command in subprocess mode can write it, so a record is read as untrusted text: it never attaches a file
 * (`file_paths` are only named), and it is opened without following a link and only as a regular file.
 */
const mediaJobRecord = lazySchema(() =>
  z.object({
    id: z.string().regex(JOB_ID),
    state: z.enum(["running", "completed", "failed", "cancelled"]),
    text: z.string().optional(),
    /** Workspace paths of the files the answer came with (named in a later answer, not attached again). */
    file_paths: z.array(z.string()).max(32).optional(),
    error: z.string().optional(),
    started_at: z.string(),
    ended_at: z.string().optional(),
  }),
);
export type MediaJobRecord = z.infer<ReturnType<typeof mediaJobRecord>>;

/**
 * Durable records of one session's media jobs (image, PDF and audio analysis, image generation): one small JSON file
 * per job under `<workspace>/.starling/media-jobs/<session>/`, written atomically (a new temp file, flushed, renamed)
 * at two named points: `media_job_start` (before the helper model is asked) and `media_job_end` (the answer, failure
 * or stop, before the job's state changes in memory). A job's answer thus outlives the worker that asked for it: a
 * `return_immediate` job finished while the worker idled out, crashed or restarted is still answered. A record still
 * saying running that no live job of this worker owns was cut off by a restart. The folders are opened one by one
 * without following a link (ConfinedDir), and files with O_NOFOLLOW: a link planted there (by a subprocess-mode command
 * before a switch to bubblewrap) makes the write fail instead of writing where it points, and a FIFO is never waited on.
 */
export class MediaJobStore {
  private pruned = false;

  constructor(
    private readonly workspace: string,
    /** The session's folder name (sessionFolderName). */
    private readonly folder: string,
  ) {}

  static isJobId(id: string): boolean {
    return JOB_ID.test(id);
  }

  /** Durable write of a record at a named point; the caller changes memory only after it returns. */
  save(record: MediaJobRecord, point: "media_job_start" | "media_job_end"): void {
    const dir = this.open(true)!;
    try {
      if (!this.pruned) this.prune(dir);
      const temp = `.${record.id}.${randomBytes(6).toString("hex")}.tmp`;
      const fd = openSync(dir.entry(temp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(dir.entry(temp), dir.entry(`${record.id}.json`));
    } finally {
      dir.close();
    }
    crashPoint(point);
  }

  /** The stored record of `id`, or null (none, not a job id, not a regular file, too large, torn or foreign). */
  read(id: string): MediaJobRecord | null {
    if (!MediaJobStore.isJobId(id)) return null;
    let dir: ConfinedDir | null = null;
    let fd: number | null = null;
    try {
      dir = this.open(false);
      if (!dir) return null;
      fd = openSync(dir.entry(`${id}.json`), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > MAX_RECORD_BYTES) return null;
      const buffer = Buffer.alloc(stat.size);
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, read);
        if (n === 0) break;
        read += n;
      }
      const record = mediaJobRecord().parse(JSON.parse(buffer.subarray(0, read).toString("utf8")));
      return record.id === id ? record : null;
    } catch {
      return null;
    } finally {
      if (fd !== null) closeSync(fd);
      dir?.close();
    }
  }

  /** The session's records folder, made where missing (`create`), or null when it does not exist. */
  private open(create: boolean): ConfinedDir | null {
    const root = realpathSync(this.workspace);
    const parts = [".starling", "media-jobs", this.folder];
    if (create) return ConfinedDir.open(root, root).makeDirs(parts);
    let dir: ConfinedDir | null = ConfinedDir.open(root, root);
    for (const part of parts) {
      const next: ConfinedDir | null = dir.tryOpenDir(part);
      dir.close();
      if (!next) return null;
      dir = next;
    }
    return dir;
  }

  /** Once per worker, before its first write: records (and temp files) last changed over a week ago go. */
  private prune(dir: ConfinedDir): void {
    this.pruned = true;
    const before = Date.now() - MEDIA_JOB_KEEP_MS;
    let names: string[];
    try {
      names = readdirSync(dir.procPath ?? dir.abs);
    } catch {
      return;
    }
    for (const name of names) {
      try {
        const path = dir.entry(name);
        if (lstatSync(path).mtimeMs < before) rmSync(path, { force: true });
      } catch {
        // gone meanwhile, or not ours to stat: leave it
      }
    }
  }
}
