import { constants, lstatSync } from "node:fs";
import { type FileHandle, realpath, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { ConfinedDir, deadline, MakeDirsError, type ContentItem } from "@starling/protocol";
import type { BotApi } from "./bot-api.js";
import type { TelegramMessage } from "./telegram-message.js";

/** Telegram's Bot API serves files up to 20 MB. */
export const DEFAULT_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024;

/**
 * Longest time one inbound file may take, `getFile` and download together. A hung download holds its
 * conversation (inbound-downloads.ts); past this the message goes on with a note that the file could
 * not be downloaded. Tests shorten it with
 * `STARLING_TEST_TELEGRAM_DOWNLOAD_TIMEOUT_MS` (test-only, not a setting).
 */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 120_000;

export type MediaKind = "photo" | "document" | "voice" | "audio" | "video" | "video_note" | "animation";

export interface InboundFile {
  kind: MediaKind;
  fileId: string;
  name: string;
  mediaType: string;
  size?: number;
}

const EXT: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "audio/mpeg": "mp3",
  "audio/ogg": "ogg",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/mp4": "m4a",
  "video/mp4": "mp4",
  "application/pdf": "pdf",
};

function named(kind: MediaKind, uniqueId: string, mediaType: string, original?: string): string {
  if (original) return original;
  return `${kind}-${uniqueId}.${EXT[mediaType] ?? "bin"}`;
}

/** The files a message carries: the largest photo size, document, voice, audio, video, video note. */
export function inboundFiles(message: TelegramMessage): InboundFile[] {
  const files: InboundFile[] = [];
  const photo = message.photo?.length ? [...message.photo].sort((a, b) => a.width * a.height - b.width * b.height).at(-1) : undefined;
  if (photo) files.push({ kind: "photo", fileId: photo.file_id, mediaType: "image/jpeg", name: named("photo", photo.file_unique_id, "image/jpeg"), size: photo.file_size });
  const d = message.document;
  if (d) {
    const type = d.mime_type ?? "application/octet-stream";
    files.push({ kind: "document", fileId: d.file_id, mediaType: type, name: named("document", d.file_unique_id, type, d.file_name), size: d.file_size });
  }
  const v = message.voice;
  if (v) {
    const type = v.mime_type ?? "audio/ogg";
    files.push({ kind: "voice", fileId: v.file_id, mediaType: type, name: named("voice", v.file_unique_id, type), size: v.file_size });
  }
  const a = message.audio;
  if (a) {
    const type = a.mime_type ?? "audio/mpeg";
    files.push({ kind: "audio", fileId: a.file_id, mediaType: type, name: named("audio", a.file_unique_id, type, a.file_name), size: a.file_size });
  }
  const vid = message.video;
  if (vid) {
    const type = vid.mime_type ?? "video/mp4";
    files.push({ kind: "video", fileId: vid.file_id, mediaType: type, name: named("video", vid.file_unique_id, type, vid.file_name), size: vid.file_size });
  }
  const note = message.video_note;
  if (note) files.push({ kind: "video_note", fileId: note.file_id, mediaType: "video/mp4", name: named("video_note", note.file_unique_id, "video/mp4"), size: note.file_size });
  // An animation also arrives as `document`; only take it when it did not.
  const anim = message.animation;
  if (anim && !d) {
    const type = anim.mime_type ?? "video/mp4";
    files.push({ kind: "animation", fileId: anim.file_id, mediaType: type, name: named("animation", anim.file_unique_id, type, anim.file_name), size: anim.file_size });
  }
  return files;
}

/** A file name safe on any filesystem: no separators, no control or shell-special characters. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize("NFKC")
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, "_")
    .replace(/^\.+/, "_")
    .trim();
  const base = cleaned || "file";
  if (base.length <= 120) return base;
  const dot = base.lastIndexOf(".");
  const ext = dot > 0 && base.length - dot <= 10 ? base.slice(dot) : "";
  return base.slice(0, 120 - ext.length) + ext;
}

export interface DownloadResult {
  items: ContentItem[];
  /** One line per failed file, for telling the user. */
  failures: string[];
}

export interface DownloadDeps {
  api: BotApi;
  workspace: string;
  limitBytes: number;
  signal?: AbortSignal;
  /** Default DEFAULT_DOWNLOAD_TIMEOUT_MS (or the test-only environment variable). */
  timeoutMs?: number;
}

/**
 * Downloads every file of the message into `<workspace>/attachments/incoming/<time>-<name>` and
 * returns file items; a file that cannot be downloaded becomes a text item telling the model what
 * failed (never an exception).
 */
export async function downloadInboundFiles(files: InboundFile[], deps: DownloadDeps): Promise<DownloadResult> {
  const items: ContentItem[] = [];
  const failures: string[] = [];
  for (const file of files) {
    const timeoutMs = deps.timeoutMs ?? downloadTimeoutFromEnv() ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
    const limit = deadline(deps.signal, timeoutMs);
    try {
      const path = await downloadOne(file, { ...deps, signal: limit.signal });
      items.push({ type: "file", uri: pathToFileURL(path).href, name: file.name, mediaType: file.mediaType });
    } catch (err) {
      if (deps.signal?.aborted) throw err;
      const reason = limit.timedOut ? `it did not arrive within ${formatSeconds(timeoutMs)} (Telegram or the network is slow; send it again later)` : deps.api.describe(err);
      failures.push(`${file.name} (${file.kind}): ${reason}`);
      items.push({
        type: "text",
        text: `[The user sent a ${file.kind} "${file.name}" (${file.mediaType}${file.size ? `, ${file.size} bytes` : ""}), but it could not be downloaded: ${reason}]`,
      });
    } finally {
      limit.dispose();
    }
  }
  return { items, failures };
}

/** What the chat is told when files of its message could not be downloaded. */
export function downloadFailureNotice(failures: string[]): string {
  return `⚠️ I could not download ${failures.length === 1 ? "your file" : "some of your files"}:\n${failures.map((f) => `- ${f}`).join("\n")}\nThe model was told what is missing.`;
}

function downloadTimeoutFromEnv(): number | undefined {
  const value = Number(process.env["STARLING_TEST_TELEGRAM_DOWNLOAD_TIMEOUT_MS"] ?? NaN);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** Where files sent in the chat go, relative to the workspace. */
const INCOMING = ["attachments", "incoming"];

/**
 * `<workspace>/attachments/incoming`, made where missing and opened through descriptors without following a
 * link (ConfinedDir): the workspace is writable by tools (and commands in bubblewrap), while the host writes
 * here outside any sandbox, so a folder replaced by a link out of the workspace fails instead of being followed.
 */
async function openIncoming(workspace: string): Promise<ConfinedDir> {
  const root = await realpath(workspace);
  try {
    return ConfinedDir.open(root, root).makeDirs(INCOMING);
  } catch (error) {
    if (!(error instanceof MakeDirsError)) throw error;
    const code = (error.cause as NodeJS.ErrnoException).code ?? String(error.cause);
    throw new Error(`${INCOMING.join("/")} in the workspace is a link or not a folder (${code}); remove it so files sent in the chat can be saved there`);
  }
}

/**
 * `name`, or `name-2.ext`, … when that file (or its partial file) exists, with its partial file `<name>.part`
 * created new (O_EXCL, not through a link planted at that name).
 */
async function createPartial(dir: ConfinedDir, name: string): Promise<{ name: string; file: FileHandle }> {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${stem}-${n}${ext}`;
    if (lstatSync(dir.entry(candidate), { throwIfNoEntry: false })) continue;
    try {
      return { name: candidate, file: await dir.openFile(`${candidate}.part`, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" && code !== "ELOOP") throw error;
    }
  }
}

async function downloadOne(file: InboundFile, deps: DownloadDeps): Promise<string> {
  const tooBig = () => new Error(`the file is larger than the ${formatBytes(deps.limitBytes)} download limit`);
  if (file.size !== undefined && file.size > deps.limitBytes) throw tooBig();
  const info = await deps.api.call("getFile", { file_id: file.fileId }, { signal: deps.signal, maxAttempts: 4 });
  if (!info.file_path) throw new Error("Telegram returned no file path (the file may be too big for bots)");
  if (info.file_size !== undefined && info.file_size > deps.limitBytes) throw tooBig();
  const response = await fetch(deps.api.fileUrl(info.file_path), { signal: deps.signal });
  if (!response.ok || !response.body) throw new Error(`download failed with HTTP ${response.status}`);
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > deps.limitBytes) throw tooBig();
  const dir = await openIncoming(deps.workspace);
  try {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const { name, file: partial } = await createPartial(dir, `${stamp}-${safeFileName(file.name)}`);
    let received = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > deps.limitBytes) done(tooBig());
        else done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>), limiter, partial.createWriteStream(), {
        signal: deps.signal,
      });
      await rename(dir.entry(`${name}.part`), dir.entry(name));
    } catch (err) {
      await partial.close();
      await rm(dir.entry(`${name}.part`), { force: true });
      throw err;
    }
    return join(dir.abs, name);
  } finally {
    dir.close();
  }
}
