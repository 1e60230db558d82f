import { IMAGE_NAME, signedFilePath } from "./file-links.js";
import type { WebEvent, WebLog } from "./web-log.js";

const PAGE = 64;

/**
 * The files a reply carried: the `file` events right after it. The web outbox writes a reply's files
 * in the reply's own batch, just after it, and writes no other files, so the run of `file` events that
 * follows a reply is its files.
 */
export async function replyFiles(log: WebLog, reply: WebEvent): Promise<WebEvent[]> {
  const files: WebEvent[] = [];
  for (let after = reply.id; ; ) {
    const page = await log.after(reply.conversationId, after, PAGE);
    const run = page.findIndex((e) => e.kind !== "file");
    files.push(...(run < 0 ? page : page.slice(0, run)));
    if (run >= 0 || page.length < PAGE) return files;
    after = page.at(-1)!.id;
  }
}

/**
 * The files as markdown lines for the end of an OpenAI answer ("" when none), after a blank line: an
 * image as `![name](url)` (clients that render markdown show it), anything else as `[name](url)`; each
 * URL an absolute, signed download link (file-links.ts) on `origin`.
 */
export function filesMarkdown(files: readonly WebEvent[], origin: string, token: string): string {
  const lines = files.flatMap((f) => {
    if (!f.path) return [];
    const url = `${origin}${signedFilePath(token, f.conversationId, f.path)}`;
    const label = f.text.replace(/[[\]\\]/g, "\\$&");
    return [IMAGE_NAME.test(f.path) ? `![${label}](${url})` : `[${label}](${url})`];
  });
  return lines.length ? `\n\n${lines.join("\n")}` : "";
}
