/** How `web_fetch` treats a response body. */
export type BodyKind = "html" | "text" | "binary";

const TEXT_APPLICATION_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/javascript",
  "application/ecmascript",
  "application/x-javascript",
  "application/x-yaml",
  "application/yaml",
  "application/toml",
  "application/x-sh",
  "application/sql",
  "application/graphql",
  "application/x-www-form-urlencoded",
]);

/** `text/html; charset=utf-8` → `{ mime: "text/html", charset: "utf-8" }`. */
export function parseContentType(header: string | undefined): { mime: string | null; charset: string | null } {
  if (!header) return { mime: null, charset: null };
  const [mime, ...params] = header.split(";").map((s) => s.trim());
  const charset = params.map((p) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(p)?.[1]).find(Boolean) ?? null;
  return { mime: mime ? mime.toLowerCase() : null, charset };
}

/** Kind from the declared type; without one, from the first bytes (NUL → binary, `<html` → html). */
export function bodyKind(mime: string | null, head: Uint8Array): BodyKind {
  if (mime) {
    if (mime === "text/html" || mime === "application/xhtml+xml") return "html";
    if (mime.startsWith("text/") || TEXT_APPLICATION_TYPES.has(mime) || /\+(json|xml)$/.test(mime)) return "text";
    if (mime !== "application/octet-stream") return "binary";
  }
  const sample = head.subarray(0, 1024);
  if (sample.includes(0)) return "binary";
  const start = Buffer.from(sample).toString("latin1").trimStart().slice(0, 64).toLowerCase();
  if (start.startsWith("<!doctype html") || start.startsWith("<html")) return "html";
  return mime === "application/octet-stream" && !looksLikeText(sample) ? "binary" : "text";
}

/** Decodes with the declared charset (or a `<meta charset>` for HTML), falling back to UTF-8. */
export function decodeBody(data: Uint8Array, charset: string | null, kind: BodyKind): string {
  let label = charset;
  if (!label && kind === "html") {
    const head = Buffer.from(data.subarray(0, 4096)).toString("latin1");
    label = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1] ?? null;
  }
  try {
    return new TextDecoder(label ?? "utf-8").decode(data);
  } catch {
    return new TextDecoder("utf-8").decode(data);
  }
}

/** Mostly printable ASCII/UTF-8 (few control characters). */
function looksLikeText(sample: Uint8Array): boolean {
  let control = 0;
  for (const byte of sample) if (byte < 9 || (byte > 13 && byte < 32)) control++;
  return control <= sample.length / 100;
}
