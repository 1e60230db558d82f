/** A Bot API error answer: `{ok:false, error_code, description, parameters?}` with the same HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly description: string;
  readonly retryAfter: number | undefined;
  constructor(status: number, description: string, retryAfter?: number) {
    super(description);
    this.name = "ApiError";
    this.status = status;
    this.description = description;
    this.retryAfter = retryAfter;
  }

  toJSON(): { ok: false; error_code: number; description: string; parameters?: { retry_after: number } } {
    const body = { ok: false as const, error_code: this.status, description: this.description };
    return this.retryAfter === undefined ? body : { ...body, parameters: { retry_after: this.retryAfter } };
  }
}

export function badRequest(detail: string): ApiError {
  return new ApiError(400, `Bad Request: ${detail}`);
}

/** What Telegram says when parse_mode text does not parse. */
export function cantParseEntities(detail: string): ApiError {
  return badRequest(`can't parse entities: ${detail}`);
}

/** UTF-8 byte offset of UTF-16 index `index` in `text` (Telegram's errors count bytes). */
export function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), "utf8");
}
