import { lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import { z } from "zod";
import { defineTool, type AnyTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { httpHeaders } from "../web/web-fetch.js";
import { localFileNote } from "../remote/local-note.js";
import type { RemoteWorkspace } from "../remote/remote-workspace.js";
import { shQuote } from "../remote/ssh.js";
import type { DownloadStatus } from "./download-status.js";
import type { Downloads } from "./downloads.js";

const MAX_WAIT_SECONDS = 600;

// Made inside the lazyArguments builders below (so the snapshot does not hold them).
const downloadId = () => z.string().min(1).describe("The download_id file_download_start returned.");
const waitSeconds = (dflt: number) =>
  z
    .number()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(`Seconds to wait for the download to finish (default ${dflt}, at most ${MAX_WAIT_SECONDS}).`);
const onTimeout = () =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(["continue", "kill"], { error: "on_timeout must be continue or kill" }))
    .optional()
    .describe("When the wait times out: continue (default; the download keeps running) or kill (cancel it).");

export const fileDownloadStartParameters = lazyArguments(() => z.object({
  url: z.string().describe("http:// or https:// URL to download."),
  path: z.string().describe("Where to save it in the workspace (parent folders are created)."),
  headers: httpHeaders().describe("Extra request headers."),
  overwrite: z.boolean().optional().describe("Replace an existing file at path (default false)."),
  return_immediate: z.boolean().optional().describe("Return at once without waiting (default false; with wait_timeout_seconds 0 it returns at once too)."),
  wait_timeout_seconds: waitSeconds(0),
  on_timeout: onTimeout(),
}));

/**
 * The compact snapshot the model sees: only true flags and known values. In a fixed-remote conversation, `location`
 * says the file is local (where the remote file tools and shell cannot see it) and how to fetch it on the host instead.
 */
function view(s: DownloadStatus, fixed: RemoteWorkspace | null): Record<string, unknown> {
  const out: Record<string, unknown> = { download_id: s.download_id, url: s.url, path: s.path };
  for (const flag of ["running", "completed", "cancelled", "failed", "interrupted"] as const) if (s[flag]) out[flag] = true;
  out.bytes_downloaded = s.bytes_downloaded;
  for (const key of ["total_bytes", "http_status", "final_url", "content_type", "error"] as const) if (s[key] !== undefined && s[key] !== "") out[key] = s[key];
  const local = localFileNote(fixed);
  if (fixed && local) out.location = `${local}. To have it on ${fixed.alias}, download it there with shell, e.g. curl -fL -o ${shQuote(s.path)} ${shQuote(s.url)}.`;
  return out;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

async function waitAndReport(downloads: Downloads, id: string, seconds: number, kill: boolean, signal: AbortSignal, fixed: RemoteWorkspace | null): Promise<string> {
  const outcome = await downloads.wait(id, seconds * 1000, signal);
  if (outcome === "done") return json(view(downloads.snapshot(id), fixed));
  if (outcome === "interrupted") return json({ interrupted: true, download: view(downloads.snapshot(id), fixed) });
  if (kill) return json(view(await downloads.cancel(id), fixed));
  return json({ timeout: true, download: view(downloads.snapshot(id), fixed) });
}

/** The four download tools, bound to one session's Downloads. */
// Module constants (not made per session): their JSON Schemas then come from the worker's snapshot (tool-runtime.ts).
const byIdParameters = lazyArguments(() => z.object({ download_id: downloadId() }));
const waitParameters = lazyArguments(() => z.object({ download_id: downloadId(), wait_timeout_seconds: waitSeconds(30), on_timeout: onTimeout() }));

export function downloadTools(downloads: Downloads): AnyTool[] {
  const start = defineTool({
    name: "file_download_start",
    description:
      "Download a file from a URL into the workspace in the background (streamed to a partial file, renamed into place when complete). " +
      "Returns a download_id; check it with file_download_progress, wait with file_download_wait, stop it with file_download_cancel. " +
      "Downloads do not survive a worker restart (their status then says interrupted).",
    parameters: fileDownloadStartParameters,
    readOnly: false,
    async execute(args, ctx) {
      await downloads.load(ctx.paths);
      const target = await ctx.paths.resolve(args.path, { write: true });
      const existing = await stat(target.abs).catch(() => null);
      if (existing?.isDirectory()) throw new ToolError("invalid_arguments", `${target.display} is a directory; give a file path.`);
      if (existing && !args.overwrite) throw new ToolError("invalid_arguments", `${target.display} already exists; pass overwrite=true to replace it`);
      const status = downloads.start({ url: args.url, abs: target.abs, display: target.display, headers: args.headers, policy: ctx.network, paths: ctx.paths });
      const seconds = args.wait_timeout_seconds ?? 0;
      if (args.return_immediate || seconds <= 0) return json(view(status, ctx.fixedRemote));
      return waitAndReport(downloads, status.download_id, seconds, args.on_timeout === "kill", ctx.signal, ctx.fixedRemote);
    },
  });
  const progress = defineTool({
    name: "file_download_progress",
    description: "Show a download's status: bytes so far, total when known, and whether it completed, failed, was cancelled or was interrupted.",
    parameters: byIdParameters,
    readOnly: true,
    async execute(args, ctx) {
      await downloads.load(ctx.paths);
      return json(view(downloads.snapshot(args.download_id), ctx.fixedRemote));
    },
  });
  const wait = defineTool({
    name: "file_download_wait",
    description: "Wait for a download to finish and return its status. On timeout it returns {timeout: true, download} and the download keeps running, unless on_timeout is kill.",
    parameters: waitParameters,
    readOnly: false,
    async execute(args, ctx) {
      await downloads.load(ctx.paths);
      return waitAndReport(downloads, args.download_id, args.wait_timeout_seconds ?? 30, args.on_timeout === "kill", ctx.signal, ctx.fixedRemote);
    },
  });
  const cancel = defineTool({
    name: "file_download_cancel",
    description: "Cancel a running download; its partial file is removed. A finished download is left as it is.",
    parameters: byIdParameters,
    readOnly: false,
    async execute(args, ctx) {
      await downloads.load(ctx.paths);
      return json(view(await downloads.cancel(args.download_id), ctx.fixedRemote));
    },
  });
  return [start, progress, wait, cancel];
}
