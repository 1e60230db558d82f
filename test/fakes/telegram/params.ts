import type { IncomingMessage } from "node:http";
import { ApiError, badRequest } from "./api-error.js";
import { multipartBoundary, parseMultipart, type UploadedFile } from "./multipart.js";

/** Fields the Bot API accepts as JSON-serialised strings in form and multipart bodies. */
const JSON_FIELDS = [
  "reply_markup",
  "entities",
  "caption_entities",
  "reply_parameters",
  "allowed_updates",
  "commands",
  "scope",
  "link_preview_options",
  "media",
];

/** The parameters of one Bot API call, whatever encoding the client used. */
export class Params {
  readonly values: Record<string, unknown>;
  readonly files: Map<string, UploadedFile>;

  constructor(values: Record<string, unknown>, files = new Map<string, UploadedFile>()) {
    this.values = values;
    this.files = files;
    for (const field of JSON_FIELDS) {
      const value = values[field];
      if (typeof value !== "string") continue;
      try {
        values[field] = JSON.parse(value) as unknown;
      } catch {
        // left as a string; the method reports it as malformed
      }
    }
  }

  has(name: string): boolean {
    return (this.values[name] !== undefined && this.values[name] !== null) || this.files.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    return typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
  }

  integer(name: string): number | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === "") return undefined;
    const n = typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : NaN;
    if (!Number.isInteger(n)) throw badRequest(`field "${name}" must be of type Integer`);
    return n;
  }

  boolean(name: string): boolean | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) return undefined;
    return value === true || value === "true" || value === "1" || value === 1;
  }

  json(name: string): unknown {
    return this.values[name];
  }

  /** `values` with uploaded files shown as `{fileName, size}`, for call records. */
  forRecord(): Record<string, unknown> {
    const record: Record<string, unknown> = { ...this.values };
    for (const [field, file] of this.files) record[field] = { fileName: file.fileName, size: file.bytes.length };
    return record;
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Query string, JSON, urlencoded or multipart parameters of a request. */
export function parseParams(url: URL, contentType: string, body: Buffer): Params {
  const values: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = contentType.toLowerCase();
  if (body.length === 0) return new Params(values);
  if (type.startsWith("application/json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8")) as unknown;
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw badRequest("JSON object expected");
    return new Params({ ...values, ...(parsed as Record<string, unknown>) });
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return new Params({ ...values, ...Object.fromEntries(new URLSearchParams(body.toString("utf8"))) });
  }
  if (type.startsWith("multipart/form-data")) {
    const boundary = multipartBoundary(contentType);
    if (boundary === undefined) throw badRequest("multipart boundary is missing");
    try {
      const multipart = parseMultipart(body, boundary);
      return new Params({ ...values, ...multipart.fields }, multipart.files);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw badRequest(`can't parse multipart body: ${(error as Error).message}`);
    }
  }
  return new Params(values);
}
