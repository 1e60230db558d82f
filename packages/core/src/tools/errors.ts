import type { ToolErrorKind } from "./types.js";

/**
 * A failure a tool reports on purpose. The runtime turns it into an `isError` result whose text is
 * `message` (written for the model: say what went wrong and what to do instead) and whose
 * `details.kind` is `kind`.
 */
export class ToolError extends Error {
  readonly kind: ToolErrorKind;

  constructor(kind: ToolErrorKind, message: string) {
    super(message);
    this.name = "ToolError";
    this.kind = kind;
  }
}

/**
 * The abort reason of a turn whose worker stops (a `/model`, `/sandbox`, `/mcp` or `/remote` change restarts it,
 * `/new`, the host stopping), as opposed to a user's /cancel or a newer message. The next worker resumes
 * the turn under the current settings, so a result can tell the model why its call stopped.
 */
export class WorkerStopping extends Error {
  constructor() {
    super("shutdown");
    this.name = "WorkerStopping";
  }
}

/** A Node.js system error (`ENOENT`, `EISDIR`, …) as thrown by `fs`. */
export interface SystemError extends Error {
  code: string;
  path?: string;
  syscall?: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}

/** `true` when `error` is a system error with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  return isSystemError(error) && codes.includes(error.code);
}
