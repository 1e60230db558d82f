import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { crashPoint, lazySchema } from "@starling/protocol";

/**
 * What the download tools report for one download (the reference's snapshot, camelCase-free as the model
 * sees it). Built when a session first reads stored statuses (most never download anything).
 */
const downloadStatus = lazySchema(() =>
  z.object({
    download_id: z.string(),
    url: z.string(),
    /** Workspace-relative target path. */
    path: z.string(),
    running: z.boolean(),
    completed: z.boolean().optional(),
    cancelled: z.boolean().optional(),
    failed: z.boolean().optional(),
    /** The worker stopped (restart, crash) while this download ran; the partial file was removed. */
    interrupted: z.boolean().optional(),
    bytes_downloaded: z.number().int().nonnegative(),
    total_bytes: z.number().int().nonnegative().optional(),
    http_status: z.number().int().optional(),
    final_url: z.string().optional(),
    content_type: z.string().optional(),
    error: z.string().optional(),
    started_at: z.string(),
    ended_at: z.string().optional(),
    /** Absolute (real) path of the partial file while running (removed on interruption). */
    temp_path: z.string().optional(),
  }),
);
export type DownloadStatus = z.infer<ReturnType<typeof downloadStatus>>;

/**
 * Durable status records of one session's downloads: one small JSON file per download under
 * `<workspace>/.starling/downloads/<session>/`, written atomically (temp file + rename) at two named
 * points: `download_start` (before any byte is fetched) and `download_end` (after the file was renamed
 * into place, or the download failed or was cancelled). Progress lives in memory only. A download
 * whose record still says running when a new worker starts was cut off by the restart.
 */
export class DownloadStatusStore {
  constructor(readonly dir: string) {}

  /**
   * Every stored status; records still `running` are marked interrupted (and saved) after their partial
   * file was removed by `removePartial` (the caller removes it through its confined folder: a folder
   * swapped for a symlink since is not followed). Only a file named like a partial file of that download
   * is removed.
   */
  async loadAfterRestart(removePartial: (path: string) => Promise<void>): Promise<DownloadStatus[]> {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(".json"));
    } catch {
      return [];
    }
    const out: DownloadStatus[] = [];
    for (const name of names) {
      let status: DownloadStatus;
      try {
        status = downloadStatus().parse(JSON.parse(readFileSync(join(this.dir, name), "utf8")));
      } catch {
        continue; // a torn or foreign file: ignore it rather than fail every download tool
      }
      if (status.running) {
        const left = await removeOwnPartial(status, removePartial);
        status = {
          ...status,
          running: false,
          interrupted: true,
          temp_path: undefined,
          error: `interrupted: the worker stopped (restart or crash) while this download was running; ${left === null ? "the partial file was removed" : `its partial file ${status.temp_path} was left: ${left}`}. Start it again.`,
          ended_at: new Date().toISOString(),
        };
        this.write(status);
      }
      out.push(status);
    }
    return out;
  }

  /** Durable write of a status at a named point; the caller updates memory only after it returns. */
  save(status: DownloadStatus, point: "download_start" | "download_end"): void {
    this.write(status);
    crashPoint(point);
  }

  private write(status: DownloadStatus): void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${status.download_id}.json`);
    const temp = `${file}.tmp`;
    writeFileSync(temp, JSON.stringify(status), { flush: true });
    renameSync(temp, file);
  }
}

/** Removes the record's partial file; null when it is gone, else why it was left. */
async function removeOwnPartial(status: DownloadStatus, removePartial: (path: string) => Promise<void>): Promise<string | null> {
  if (!status.temp_path) return null;
  const name = basename(status.temp_path);
  if (!name.startsWith(".") || !name.endsWith(`.${status.download_id}.part`)) return "not a partial file name of this download";
  try {
    await removePartial(status.temp_path);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
