import { deadline, lazyArguments } from "@starling/protocol";
import { z } from "zod";
import { defineTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { BlockedAddressError } from "./address-policy.js";
import { bodyKind, decodeBody, parseContentType } from "./content-type.js";
import { guardedGet, readCapped, transportErrorText, WebRequestError } from "./guarded-http.js";
import { htmlToMarkdown } from "./html-markdown.js";

export const DEFAULT_FETCH_CHARS = 20_000;
export const MAX_FETCH_CHARS = 200_000;
/** Bytes read from one response at most; larger bodies are cut (text) or refused (binary). */
export const MAX_FETCH_BYTES = 5 * 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_SECONDS = 30;

/** RFC 9110 token for a header name; values may not contain CR, LF or NUL. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Extra request headers (web_fetch, file_download_start), made inside their lazyArguments builders. */
export const httpHeaders = () =>
  z
    .record(z.string().regex(headerName, "not a valid HTTP header name"), z.string().regex(/^[^\r\n\0]*$/, "header values may not contain line breaks"))
    .optional();

export const webFetchParameters = lazyArguments(() => z.object({
  url: z.string().describe("Absolute http:// or https:// URL to fetch."),
  timeout_seconds: z
    .number()
    .positive()
    .max(300)
    .optional()
    .describe(`Time limit for the whole request in seconds (default ${DEFAULT_FETCH_TIMEOUT_SECONDS}, at most 300).`),
  max_chars: z
    .number()
    .int()
    .min(1)
    .max(MAX_FETCH_CHARS)
    .optional()
    .describe(`Longest text returned (default ${DEFAULT_FETCH_CHARS}, at most ${MAX_FETCH_CHARS}); longer pages are cut with a note.`),
  headers: httpHeaders().describe("Extra request headers, e.g. {\"Accept-Language\": \"en\"}."),
}));

export const webFetchTool = defineTool({
  name: "web_fetch",
  description:
    "Fetch a web page or text resource with HTTP GET. HTML pages come back as readable Markdown (main content only; scripts, styles and navigation removed); " +
    "text, JSON and XML as they are. Redirects are followed. Binary files (images, PDFs, archives) are not returned: use file_download_start to save them in the workspace. " +
    "HTTP error statuses (404, 500) are normal results showing the status and body.",
  parameters: webFetchParameters,
  readOnly: true,
  async execute(args, ctx) {
    const timeoutSeconds = args.timeout_seconds ?? DEFAULT_FETCH_TIMEOUT_SECONDS;
    const maxChars = args.max_chars ?? DEFAULT_FETCH_CHARS;
    const limit = deadline(ctx.signal, Math.ceil(timeoutSeconds * 1000));
    const signal = limit.signal;
    try {
      const response = await guardedGet({ url: args.url, headers: args.headers, policy: ctx.network, signal });
      const { mime, charset } = parseContentType(response.headers["content-type"]);
      const declared = Number(response.headers["content-length"]);
      const { data, complete } = await readCapped(response.body, MAX_FETCH_BYTES);
      const kind = bodyKind(mime, data);
      const header = [
        `URL: ${response.finalUrl}${response.redirects.length ? ` (redirected from ${args.url})` : ""}`,
        `Status: ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
        `Content-Type: ${response.headers["content-type"] ?? "(none)"}`,
      ];
      const details = { url: args.url, finalUrl: response.finalUrl, status: response.status, contentType: mime, redirects: response.redirects };
      if (kind === "binary") {
        const size = Number.isFinite(declared) && declared > 0 ? `${declared} bytes` : complete ? `${data.length} bytes` : `more than ${data.length} bytes`;
        throw new ToolError(
          "failed",
          `${response.finalUrl} is binary (${mime ?? "unknown type"}, ${size}), not text; web_fetch returns only pages and text. ` +
            "Use file_download_start to save it in the workspace (then pdf_load/image_load or the shell to look at it).",
        );
      }
      let text = decodeBody(data, charset, kind);
      if (kind === "html") {
        const page = await htmlToMarkdown(text, response.finalUrl);
        if (page.title) header.push(`Title: ${page.title}`);
        text = page.markdown;
      }
      const notes: string[] = [];
      if (!complete) notes.push(`[The response was larger than ${MAX_FETCH_BYTES} bytes; only the first ${MAX_FETCH_BYTES} bytes were read. Use file_download_start for the whole file.]`);
      const truncated = text.length > maxChars;
      if (truncated) {
        notes.push(`[... ${text.length - maxChars} more characters not shown (of ${text.length}); call again with a larger max_chars (up to ${MAX_FETCH_CHARS}).]`);
        text = text.slice(0, maxChars);
      }
      const content = [...header, "", text || "(empty body)", ...notes.map((n) => `\n${n}`)].join("\n");
      return { content, details: { ...details, truncated: truncated || !complete, chars: text.length } };
    } catch (error) {
      throw describeFetchError(error, args.url, ctx.signal, limit.timedOut, timeoutSeconds);
    } finally {
      limit.dispose();
    }
  },
});

/** Maps a failed fetch to a ToolError the model can act on; a user abort stays an abort. */
export function describeFetchError(error: unknown, url: string, cancel: AbortSignal, timedOut: boolean, seconds: number): unknown {
  if (error instanceof ToolError) return error;
  if (cancel.aborted) return error;
  if (timedOut) return new ToolError("failed", `Request to ${url} timed out after ${seconds} s. Try again with a larger timeout_seconds, or another source.`);
  if (error instanceof BlockedAddressError) return new ToolError("failed", `Refused to fetch ${url}: ${error.message}`);
  if (error instanceof WebRequestError) return new ToolError("invalid_arguments", `Cannot fetch ${url}: ${error.message}.`);
  return new ToolError("failed", `Request to ${url} failed: ${transportErrorText(error)}.`);
}
