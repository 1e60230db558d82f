/** A Bot API error answer: `{ok:false, error_code, description, parameters?}` with the same HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly description: string;
  readonly retryAfter: number | undefined;
  /** Other `parameters` of the answer (e.g. `migrate_to_chat_id`). */
  readonly parameters: Record<string, number>;
  constructor(status: number, description: string, retryAfter?: number, parameters: Record<string, number> = {}) {
    super(description);
    this.name = "ApiError";
    this.status = status;
    this.description = description;
    this.retryAfter = retryAfter;
    this.parameters = parameters;
  }

  toJSON(): { ok: false; error_code: number; description: string; parameters?: Record<string, number> } {
    const body = { ok: false as const, error_code: this.status, description: this.description };
    const parameters = { ...this.parameters, ...(this.retryAfter === undefined ? {} : { retry_after: this.retryAfter }) };
    return Object.keys(parameters).length ? { ...body, parameters } : body;
  }
}

/** What Telegram answers a call to a basic group that was upgraded to a supergroup. */
export function groupUpgraded(newChatId: number): ApiError {
  return new ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat", undefined, { migrate_to_chat_id: newChatId });
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
