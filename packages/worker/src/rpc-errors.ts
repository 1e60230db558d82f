import { ResponseError } from "vscode-jsonrpc/node.js";
import { ErrorCodes, formatIssues, type ErrorData } from "@starling/protocol";
import type { z } from "zod";

export function invalidParams(method: string, error: z.ZodError): ResponseError<ErrorData> {
  const issues = formatIssues(error);
  const text = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  return new ResponseError(ErrorCodes.InvalidParams, `${method}: invalid params: ${text}`, { name: "InvalidParams", issues });
}

export function rpcError(code: number, name: string, message: string): ResponseError<ErrorData> {
  return new ResponseError(code, message, { name });
}

/**
 * Parses params with the method's schema or throws an InvalidParams error naming every bad field.
 * Without zod's JIT: its first parse of an object schema generates and compiles a parser (`new
 * Function`), which a worker paid in every `initialize` for the parts of the params the snapshot's
 * warm-up never parsed, and a request's params are parsed once.
 */
export function parseParams<S extends z.ZodType>(method: string, schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw ?? {}, { jitless: true });
  if (!parsed.success) throw invalidParams(method, parsed.error);
  return parsed.data;
}
