import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed download links for the files of an answer given through `/v1/chat/completions`: an
 * OpenAI-compatible client shows a markdown image by fetching its URL itself, without our bearer
 * token, so the link carries its own proof (`sig`, an HMAC of the conversation and the path keyed by
 * the channel's token; parentheses are escaped too, so the URL fits in markdown). A link opens that one path of that conversation's workspace and nothing else;
 * changing the token revokes every link. docs/web-api.md "Files of an answer".
 */
const FILE_ROUTE = /^\/api\/conversations\/([^/?]+)\/workspace\/file$/;

function sign(token: string, conversationId: string, path: string): Buffer {
  return createHmac("sha256", token).update(`starling-file-link\0${conversationId}\0${path}`).digest();
}

/** The link's path and query: `/api/conversations/<id>/workspace/file?path=<path>&sig=<sig>`. */
export function signedFilePath(token: string, conversationId: string, path: string): string {
  const sig = sign(token, conversationId, path).toString("base64url");
  return `/api/conversations/${encodeURIComponent(conversationId)}/workspace/file?path=${encodeURIComponent(path).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}&sig=${sig}`;
}

/** Whether a request is a GET of a workspace file whose `sig` matches its conversation and path. */
export function signedFileRequest(method: string, url: string, token: string): boolean {
  if (method !== "GET") return false;
  const parsed = new URL(url, "http://link");
  const route = FILE_ROUTE.exec(parsed.pathname);
  const path = parsed.searchParams.get("path");
  const given = Buffer.from(parsed.searchParams.get("sig") ?? "", "base64url");
  if (!route || path === null) return false;
  let conversationId: string;
  try {
    conversationId = decodeURIComponent(route[1]!);
  } catch {
    return false;
  }
  const expected = sign(token, conversationId, path);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const IMAGE_NAME = /\.(png|jpe?g|gif|webp)$/i;

/** The content type a workspace file is served with: an image's own (so an `<img>` shows it), else bytes. */
export function downloadType(name: string): string {
  const ext = IMAGE_NAME.exec(name)?.[1]?.toLowerCase();
  if (!ext) return "application/octet-stream";
  return `image/${ext === "jpg" ? "jpeg" : ext}`;
}
