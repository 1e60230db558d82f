import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";

/**
 * A dead disk (ARCHITECTURE §5.7, docs/RELIABILITY.md "A disk that stays dead"): every owner keeps
 * retrying its write with capped backoff (≤ 30 s), and nothing is given up, so the host catches up by
 * itself once the disk works again. What a user needs meanwhile is to know: this tracker notes
 * failing host-store writes, logs one summary at error level each minute while they fail, and writes
 * `<workdir>/logs/store-health.json` (best effort) for `/status` and `starling doctor`.
 */
export const StoreHealthFile = z.object({
  ok: z.boolean(),
  /** First failure of the current run of failures (ISO); null when the last write succeeded. */
  failingSince: z.string().nullable(),
  points: z.array(z.string()).default([]),
  failures: z.number().int(),
  lastError: z.string().nullable(),
  updatedAt: z.string(),
  pid: z.number().int(),
});
export type StoreHealthFile = z.infer<typeof StoreHealthFile>;

/** Where a running host keeps its database's health for `starling doctor`. */
export const storeHealthFile = (workdir: string): string => join(workdir, "logs", "store-health.json");

/** One summary log line per this interval while writes fail (`STARLING_STORE_REPORT_MS` shortens it in tests). */
export const STORE_REPORT_MS = 60_000;

/**
 * A write not finished after this long is logged (a warning, again each time this long passes). A sync write
 * takes milliseconds; one that waits seconds is a stalled disk, and every commit after it waits too: replies,
 * admissions, give-up notices. The host then says nothing else (session 20's giveup timeout: 45 s of silence).
 * `STARLING_SLOW_WRITE_MS` shortens it in tests.
 */
export const SLOW_WRITE_MS = 10_000;

export interface StoreHealthSnapshot {
  /** First failure of the oldest point still failing; null when every point's last write succeeded. */
  failingSince: Date | null;
  /** Commit points whose last write failed (a dead disk fails them all; a bad key or batch only its own). */
  points: string[];
  failures: number;
  lastError: string | null;
}

interface PointFailure {
  since: Date;
  failures: number;
}

/** A write under way (StoreHealth.writeStarted). */
interface PendingWrite {
  point: string;
  since: number;
  /** When it was last reported as slow (0: not yet). */
  reportedAt: number;
}

/** Tracked per commit point: a success elsewhere does not hide a write that keeps failing. */
export class StoreHealth {
  private readonly failing = new Map<string, PointFailure>();
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Writes under way by id, oldest first (a Map keeps insertion order). */
  private readonly writing = new Map<number, PendingWrite>();
  private writeIds = 0;
  private watch: NodeJS.Timeout | null = null;
  /** When a slow write was last reported: one stall is one line per `slowWriteMs`, whichever write is oldest then. */
  private lastSlowReport = 0;

  constructor(
    private readonly file: string | null,
    private readonly report: (level: "error" | "warn" | "info", line: string, fields: Record<string, unknown>) => void,
    private readonly intervalMs = Number(process.env.STARLING_STORE_REPORT_MS) || STORE_REPORT_MS,
    private readonly slowWriteMs = Number(process.env.STARLING_SLOW_WRITE_MS) || SLOW_WRITE_MS,
  ) {}

  /** A write at `point` went in flight; returns its id for `writeEnded`. Watched while any is under way. */
  writeStarted(point: string | null): number {
    const id = ++this.writeIds;
    this.writing.set(id, { point: point ?? "unnamed", since: Date.now(), reportedAt: 0 });
    if (!this.watch) this.armWatch();
    return id;
  }

  /** The write settled (written or failed); one reported as slow says when it ended. */
  writeEnded(id: number): void {
    const write = this.writing.get(id);
    this.writing.delete(id);
    if (!write?.reportedAt) return;
    const seconds = Math.round((Date.now() - write.since) / 1000);
    this.report("info", `the slow host database write at ${write.point} settled after ${seconds} s`, { point: write.point, seconds });
  }

  private armWatch(): void {
    this.watch = setTimeout(() => this.checkWrites(), Math.max(1, this.slowWriteMs / 4));
    this.watch.unref();
  }

  /**
   * Reports the oldest write under way once it is slow, then again each `slowWriteMs`; re-armed while writes are under way.
   * The interval is kept across writes: when the reported write settles, the writes queued behind it on the same stalled
   * disk are as old, and reporting the next one at once would say the same thing twice.
   */
  private checkWrites(): void {
    this.watch = null;
    const oldest = this.writing.values().next().value;
    if (!oldest) return;
    const now = Date.now();
    if (now - oldest.since >= this.slowWriteMs && now - this.lastSlowReport >= this.slowWriteMs) {
      oldest.reportedAt = now;
      this.lastSlowReport = now;
      const seconds = Math.round((now - oldest.since) / 1000);
      this.report(
        "warn",
        `a host database write at ${oldest.point} has not finished after ${seconds} s (${this.writing.size} under way; replies, admissions and notices wait for them): a stalled disk? Check dmesg and the disk's latency`,
        { point: oldest.point, seconds, pending: this.writing.size },
      );
    }
    this.armWatch();
  }

  snapshot(): StoreHealthSnapshot {
    const all = [...this.failing.values()];
    return {
      failingSince: all.length ? new Date(Math.min(...all.map((f) => f.since.getTime()))) : null,
      points: [...this.failing.keys()],
      failures: all.reduce((n, f) => n + f.failures, 0),
      lastError: all.length ? this.lastError : null,
    };
  }

  failed(point: string | null, err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    const key = point ?? "unnamed";
    const known = this.failing.get(key);
    if (known) {
      known.failures++;
      return;
    }
    this.failing.set(key, { since: new Date(), failures: 1 });
    this.summarise();
    if (!this.timer) {
      this.timer = setInterval(() => this.summarise(), this.intervalMs);
      this.timer.unref();
    }
  }

  succeeded(point: string | null): void {
    const key = point ?? "unnamed";
    const known = this.failing.get(key);
    if (!known) return;
    this.failing.delete(key);
    const seconds = Math.round((Date.now() - known.since.getTime()) / 1000);
    this.report("info", `host database writes at ${key} succeed again after ${seconds} s (${known.failures} failed writes were retried)`, { point: key, recovered: true });
    if (this.failing.size === 0) this.stop();
    this.persist();
  }

  /** A new host run: whatever an earlier run wrote (it may have been killed while failing) no longer holds. */
  start(): void {
    this.persist();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private summarise(): void {
    const now = this.snapshot();
    if (!now.failingSince) return;
    const seconds = Math.round((Date.now() - now.failingSince.getTime()) / 1000);
    this.report(
      "error",
      `the host database has been failing writes for ${seconds} s at ${now.points.join(", ")} (${now.failures} failed; last: ${now.lastError}). ` +
        "Starling keeps retrying and loses nothing it acknowledged; check the disk (df -h, dmesg) and run `starling doctor`.",
      { failingSince: now.failingSince.toISOString(), points: now.points, failures: now.failures },
    );
    this.persist();
  }

  private persist(): void {
    if (!this.file) return;
    const now = this.snapshot();
    const body: StoreHealthFile = {
      ok: now.failingSince === null,
      failingSince: now.failingSince?.toISOString() ?? null,
      points: now.points,
      failures: now.failures,
      lastError: now.lastError,
      updatedAt: new Date().toISOString(),
      pid: process.pid,
    };
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(`${this.file}.tmp`, `${JSON.stringify(body)}\n`);
      renameSync(`${this.file}.tmp`, this.file);
    } catch {
      // The disk that fails the database may fail this too; the log line above is the report then.
    }
  }
}

/** `starling doctor`'s check of the file: fail while a host reports failing writes, warn when that report is stale. */
export function storeHealthCheck(workdir: string): { status: "ok" | "warn" | "fail"; detail: string; next?: string } | null {
  const health = readStoreHealth(storeHealthFile(workdir));
  if (!health) return null;
  if (health.ok) return { status: "ok", detail: `the host database accepted its writes (as of ${health.updatedAt})` };
  const what = `the host database (pid ${health.pid}) has been failing writes since ${health.failingSince} at ${health.points.join(", ")}: ${health.failures} failed, last: ${health.lastError}`;
  // Rewritten each minute while failing: an older file was left by a host that stopped meanwhile.
  if (health.ageMs > 3 * STORE_REPORT_MS) return { status: "warn", detail: `${what} (reported ${health.updatedAt}; not updated since)`, next: "start starling again and check its log" };
  return { status: "fail", detail: what, next: "check the disk under the workdir (df -h, dmesg); Starling retries and catches up once writes succeed" };
}

/** What a running host last wrote about its database; null when there is no (readable) file. */
export function readStoreHealth(file: string): (StoreHealthFile & { ageMs: number }) | null {
  try {
    const parsed = StoreHealthFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
    return parsed.success ? { ...parsed.data, ageMs: Date.now() - statSync(file).mtimeMs } : null;
  } catch {
    return null;
  }
}
