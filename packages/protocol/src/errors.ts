import { z } from "zod";

/**
 * JSON-RPC error codes. -32700..-32600 are JSON-RPC 2.0's own; Starling's application codes sit in
 * -32000..-32099 (the range JSON-RPC reserves for implementations), like LSP's ServerNotInitialized.
 */
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A request other than `initialize` arrived first. */
  NotInitialized: -32002,
  /** `initialize` was sent twice. */
  AlreadyInitialized: -32003,
  /** The session database is held by another process. */
  StoreLocked: -32005,
  /** The worker is shutting down and takes no new work. */
  ShuttingDown: -32006,
  /** A `host/coordinate` call failed, timed out or was cancelled. */
  CoordinateFailed: -32007,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The `data` of a Starling JSON-RPC error: a name plus, for invalid params, each problem by path. */
export const ErrorData = z.object({
  name: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorData = z.infer<typeof ErrorData>;

/** Formats zod issues as `path.to.field: what is wrong`, one per entry. */
export function formatIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(root)",
    message: issue.message,
  }));
}

export function describeIssues(error: z.ZodError): string {
  return formatIssues(error)
    .map((i) => `${i.path}: ${i.message}`)
    .join("; ");
}
