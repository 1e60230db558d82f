/** One file part of a multipart/form-data body. */
export interface UploadedFile {
  field: string;
  fileName: string;
  mimeType?: string;
  bytes: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: Map<string, UploadedFile>;
}

/** The `boundary` parameter of a multipart Content-Type header. */
export function multipartBoundary(contentType: string): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Parses a multipart/form-data body (RFC 7578) as telegraf and other clients send it:
 * `--boundary CRLF headers CRLF CRLF body CRLF --boundary … --boundary--`. Header
 * names are case-insensitive and the space after `:` is optional.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartBody {
  const result: MultipartBody = { fields: {}, files: new Map() };
  const opening = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(opening);
  if (pos < 0) throw new Error("multipart body has no opening boundary");
  pos += opening.length;
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // "--": closing boundary
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw new Error("multipart part without a header end");
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString("utf8"));
    const next = body.indexOf(separator, headerEnd + 4);
    if (next < 0) throw new Error("multipart body has no closing boundary");
    const content = body.subarray(headerEnd + 4, next);
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    if (name === undefined) throw new Error("multipart part without a name");
    const fileName = dispositionParam(disposition, "filename");
    if (fileName === undefined) {
      result.fields[name] = content.toString("utf8");
    } else {
      const file: UploadedFile = { field: name, fileName, bytes: Buffer.from(content) };
      const mimeType = headers.get("content-type");
      if (mimeType !== undefined) file.mimeType = mimeType;
      result.files.set(name, file);
    }
    pos = next + separator.length;
  }
  return result;
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function dispositionParam(disposition: string, param: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i").exec(disposition);
  if (match === null) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]?.trim();
}
