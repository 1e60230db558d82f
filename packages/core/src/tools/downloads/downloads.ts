import { constants } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ConfinedDir } from "@starling/protocol";
import { ToolError } from "../errors.js";
import type { WorkspacePaths } from "../workspace-paths.js";
import { BlockedAddressError, type AddressPolicy } from "../web/address-policy.js";
import { guardedGet, transportErrorText, WebRequestError } from "../web/guarded-http.js";
import { DownloadStatusStore, type DownloadStatus } from "./download-status.js";

/** Largest file a download may write. */
export const MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024 * 1024;
/** A download that receives nothing for this long fails (a dead server never hangs it forever). */
export const DOWNLOAD_STALL_MS = 60_000;
const MAX_ERROR_CHARS = 1_000;

export interface DownloadRequest {
  url: string;
  /** Absolute, confined target path and how the model sees it. */
  abs: string;
  display: string;
  headers?: Record<string, string>;
  policy: AddressPolicy;
  /** The session's confinement: the target folder is opened (and made) through it. */
  paths: WorkspacePaths;
}

interface Live {
  controller: AbortController;
  done: Promise<void>;
  bytes: number;
  total?: number;
}

/**
 * The downloads of one session. Each runs in the background, streamed into a hidden partial file
 * next to its target and renamed into place only when complete. Status records are durable (see
 * DownloadStatusStore); byte counts are live in memory. Nothing survives the worker: after a restart
 * a download that was running reports `interrupted` (see `load`).
 */
export class Downloads {
  private readonly store: DownloadStatusStore;
  private statuses: Map<string, DownloadStatus> | null = null;
  private loading: Promise<void> | null = null;
  private readonly live = new Map<string, Live>();
  private counter = 0;

  constructor(workspace: string, sessionId: string, private readonly stallMs = DOWNLOAD_STALL_MS) {
    this.store = new DownloadStatusStore(join(workspace, ".starling", "downloads", sessionId.replace(/[^A-Za-z0-9._-]/g, "_")));
  }

  /**
   * Reads the stored records once (the download tools await it first): those of earlier workers still
   * running are marked interrupted, their partial files removed through `paths` (by name inside their
   * checked folder, so a folder swapped for a symlink meanwhile is not followed).
   */
  load(paths: WorkspacePaths): Promise<void> {
    this.loading ??= this.store.loadAfterRestart((temp) => paths.unlink(temp)).then(
      (list) => {
        this.statuses = new Map(list.map((s) => [s.download_id, s]));
      },
      (error: unknown) => {
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }

  private all(): Map<string, DownloadStatus> {
    if (this.statuses === null) throw new Error("Downloads.load() must be awaited before the downloads are used");
    return this.statuses;
  }

  /** Registers and starts a download; returns its first status (already durable). */
  start(request: DownloadRequest): DownloadStatus {
    const all = this.all();
    const id = `dl_${Date.now().toString(36)}_${(++this.counter).toString(36)}`;
    const temp = join(dirname(request.abs), `.${basename(request.abs)}.${id}.part`);
    const status: DownloadStatus = {
      download_id: id,
      url: request.url,
      path: request.display,
      running: true,
      bytes_downloaded: 0,
      started_at: new Date().toISOString(),
      temp_path: temp,
    };
    this.store.save(status, "download_start");
    all.set(id, status);
    const live: Live = { controller: new AbortController(), done: Promise.resolve(), bytes: 0 };
    this.live.set(id, live);
    live.done = this.run(status, request, temp, live).finally(() => this.live.delete(id));
    return this.snapshot(id);
  }

  /** Current status with live byte counts; throws for an unknown id. */
  snapshot(id: string): DownloadStatus {
    const status = this.all().get(id);
    if (!status) {
      const known = [...this.all().keys()];
      throw new ToolError("invalid_arguments", `unknown download_id ${id}${known.length ? ` (known: ${known.slice(-10).join(", ")})` : " (this session has no downloads)"}`);
    }
    const live = this.live.get(id);
    return live ? { ...status, bytes_downloaded: live.bytes, ...(live.total !== undefined ? { total_bytes: live.total } : {}) } : status;
  }

  /** Waits until the download ends, `ms` pass, or `signal` aborts. */
  async wait(id: string, ms: number, signal: AbortSignal): Promise<"done" | "timeout" | "interrupted"> {
    this.snapshot(id);
    const live = this.live.get(id);
    if (!live) return "done";
    let timer: NodeJS.Timeout | undefined;
    let onAbort = (): void => undefined;
    try {
      return await Promise.race([
        live.done.then(() => "done" as const),
        new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms))),
        new Promise<"interrupted">((resolve) => {
          onAbort = () => resolve("interrupted");
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Cancels a running download (its partial file is removed); returns the final status. */
  async cancel(id: string): Promise<DownloadStatus> {
    this.snapshot(id);
    const live = this.live.get(id);
    if (live) {
      live.controller.abort("cancelled");
      await live.done;
    }
    return this.snapshot(id);
  }

  running(): number {
    return this.live.size;
  }

  /** Cancels every running download (/cancel, shutdown); how many ran. */
  async stopAll(): Promise<number> {
    const ids = [...this.live.keys()];
    await Promise.all(ids.map((id) => this.cancel(id)));
    return ids.length;
  }

  private async run(status: DownloadStatus, request: DownloadRequest, temp: string, live: Live): Promise<void> {
    const signal = live.controller.signal;
    let stalled = false;
    let stallTimer: NodeJS.Timeout | undefined;
    const armStall = (): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        stalled = true;
        live.controller.abort("stalled");
      }, this.stallMs);
    };
    let end: Partial<DownloadStatus>;
    // The target's folder, checked and held open: the partial file is made, renamed and removed by name
    // inside it, so a folder swapped for a symlink meanwhile is not followed.
    let dir: ConfinedDir | null = null;
    const partName = basename(temp);
    try {
      armStall();
      const response = await guardedGet({ url: request.url, headers: request.headers, policy: request.policy, signal });
      const declared = Number(response.headers["content-length"]);
      const head: Partial<DownloadStatus> = {
        http_status: response.status,
        final_url: response.finalUrl !== request.url ? response.finalUrl : undefined,
        content_type: response.headers["content-type"] || undefined,
        total_bytes: Number.isFinite(declared) && response.headers["content-length"] ? declared : undefined,
      };
      Object.assign(status, head);
      live.total = head.total_bytes;
      if (response.status < 200 || response.status > 299) {
        response.body.destroy();
        throw new DownloadFailure(`download HTTP status ${response.status} ${response.statusText}`.trim());
      }
      if ((head.total_bytes ?? 0) > MAX_DOWNLOAD_BYTES) {
        response.body.destroy();
        throw new DownloadFailure(`the file is ${head.total_bytes} bytes, more than the ${MAX_DOWNLOAD_BYTES}-byte limit`);
      }
      const parent = await request.paths.openParent(request.abs, { create: true });
      dir = parent.dir;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          live.bytes += chunk.length;
          armStall();
          if (live.bytes > MAX_DOWNLOAD_BYTES) return callback(new DownloadFailure(`the file grew past the ${MAX_DOWNLOAD_BYTES}-byte limit`));
          callback(null, chunk);
        },
      });
      const file = await dir.openFile(partName, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
      await pipeline(response.body, counter, file.createWriteStream(), { signal });
      await rename(dir.entry(partName), dir.entry(parent.name));
      end = { completed: true, total_bytes: head.total_bytes ?? live.bytes };
    } catch (error) {
      if (dir) await rm(dir.entry(partName), { force: true });
      if (signal.aborted && !stalled) end = { cancelled: true };
      else end = { failed: true, error: failureText(error, stalled, this.stallMs).slice(0, MAX_ERROR_CHARS) };
    } finally {
      clearTimeout(stallTimer);
      dir?.close();
    }
    const final: DownloadStatus = { ...status, ...end, running: false, bytes_downloaded: live.bytes, temp_path: undefined, ended_at: new Date().toISOString() };
    try {
      this.store.save(final, "download_end");
    } catch {
      // The status could not be stored; memory still tells this worker how it ended.
    }
    this.all().set(status.download_id, final);
  }
}

class DownloadFailure extends Error {}

function failureText(error: unknown, stalled: boolean, stallMs: number): string {
  if (stalled) return `no data received for ${Math.round(stallMs / 1000)} s; the download was stopped`;
  if (error instanceof DownloadFailure || error instanceof BlockedAddressError || error instanceof WebRequestError) return error.message;
  return `download failed: ${transportErrorText(error)}`;
}
