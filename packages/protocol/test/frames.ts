// Checks JSON-RPC frames written as `--> {json}` (host to worker) and `<-- {json}` (worker to host)
// lines, as docs/protocol.md shows them and `embed.py --trace` prints them, against the protocol schemas.
import { ErrorCodes, ErrorData, Methods, describeIssues, formatIssues, type MethodDescriptor } from "../src/index.js";
import type { z } from "zod";

export type Direction = "-->" | "<--";

export interface Frame {
  dir: Direction;
  body: Record<string, unknown>;
  /** 1-based line in the source text. */
  line: number;
}

type AnyDescriptor = MethodDescriptor<z.ZodType, z.ZodType>;
const descriptors: AnyDescriptor[] = Object.values(Methods) as AnyDescriptor[];
const JSON_RPC_OWN = [ErrorCodes.ParseError, ErrorCodes.InvalidRequest, ErrorCodes.InternalError] as const;
const codeNames = new Map<number, string>(Object.entries(ErrorCodes).map(([name, code]) => [code, name]));

export function descriptorOf(method: string): AnyDescriptor | undefined {
  return descriptors.find((d) => d.method === method);
}

/** Frame lines of a text, grouped by fenced code block (frames outside code blocks are ignored). */
export function frameBlocks(text: string): Frame[][] {
  const blocks: Frame[][] = [];
  let current: Frame[] | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line.startsWith("```")) {
      if (current) {
        if (current.length) blocks.push(current);
        current = null;
      } else {
        current = [];
      }
      return;
    }
    if (!current) return;
    const m = /^(-->|<--) (.*)$/.exec(line);
    if (!m) return;
    let body: unknown;
    try {
      body = JSON.parse(m[2]!);
    } catch (err) {
      throw new Error(`line ${i + 1}: frame is not valid JSON (${(err as Error).message}): ${m[2]!.slice(0, 80)}`);
    }
    current.push({ dir: m[1] as Direction, body: body as Record<string, unknown>, line: i + 1 });
  });
  return blocks;
}

/** Frame lines of plain text (e.g. a `--trace` log), as one exchange. */
export function framesOf(text: string): Frame[] {
  return frameBlocks("```\n" + text + "\n```")[0] ?? [];
}

/**
 * Problems with one exchange: every request's params, every result and every error is checked with the
 * schema of its method (responses are paired with the request of the same id sent the other way).
 * A request answered with InvalidParams must fail its schema with exactly the reported issues.
 */
export function exchangeProblems(frames: Frame[]): string[] {
  const problems: string[] = [];
  const at = (f: Frame, text: string) => problems.push(`line ${f.line} (${f.dir} ${String(f.body["method"] ?? `id ${String(f.body["id"])}`)}): ${text}`);
  const responseTo = (req: Frame) =>
    frames.find((f) => f.dir !== req.dir && f.body["id"] === req.body["id"] && f.body["method"] === undefined && f.line > req.line);
  const requestOf = (res: Frame) =>
    [...frames].reverse().find((f) => f.dir !== res.dir && f.body["id"] === res.body["id"] && typeof f.body["method"] === "string" && f.line < res.line);

  for (const f of frames) {
    if (f.body["jsonrpc"] !== "2.0") at(f, `jsonrpc must be "2.0"`);
    const method = f.body["method"];
    if (typeof method === "string") {
      const response = f.body["id"] !== undefined ? responseTo(f) : undefined;
      const error = response?.body["error"] as { code?: number; message?: string; data?: { issues?: unknown } } | undefined;
      if (method === "$/cancelRequest") {
        const id = (f.body["params"] as { id?: unknown } | undefined)?.id;
        if (typeof id !== "number" && typeof id !== "string") at(f, "$/cancelRequest needs params.id");
        continue;
      }
      const d = descriptorOf(method);
      if (!d) {
        if (error?.code !== ErrorCodes.MethodNotFound) at(f, `unknown method (only allowed when answered with MethodNotFound)`);
        continue;
      }
      const expected = d.direction === "hostToWorker" ? "-->" : "<--";
      if (f.dir !== expected) at(f, `${method} goes ${d.direction}, so it must be written ${expected}`);
      if (d.kind === "request" && f.body["id"] === undefined) at(f, `${method} is a request and needs an id`);
      if (d.kind === "notification" && f.body["id"] !== undefined) at(f, `${method} is a notification and must not have an id`);
      const parsed = d.params.safeParse(f.body["params"] ?? {});
      if (error?.code === ErrorCodes.InvalidParams && error.data?.issues) {
        if (parsed.success) at(f, "answered InvalidParams, but the params pass the schema");
        else {
          const issues = formatIssues(parsed.error);
          if (JSON.stringify(issues) !== JSON.stringify(error.data.issues)) {
            at(f, `reported issues ${JSON.stringify(error.data.issues)} differ from the schema's ${JSON.stringify(issues)}`);
          }
          const message = `${method}: invalid params: ${describeIssues(parsed.error)}`;
          if (error.message !== message) at(f, `error message ${JSON.stringify(error.message)} should be ${JSON.stringify(message)}`);
        }
      } else if (!parsed.success) {
        at(f, `params do not match the schema: ${describeIssues(parsed.error)}`);
      }
      continue;
    }
    // A response. `id: null` answers a frame that had no readable id (JSON-RPC's parse error).
    if (f.body["id"] === null) {
      const code = (f.body["error"] as { code?: unknown } | undefined)?.code;
      if (code !== ErrorCodes.ParseError && code !== ErrorCodes.InvalidRequest) at(f, "only ParseError or InvalidRequest may answer with id null");
      continue;
    }
    const req = requestOf(f);
    if (!req) {
      at(f, "response without a request of the same id in this block");
      continue;
    }
    const d = descriptorOf(req.body["method"] as string);
    if ("error" in f.body) {
      const error = f.body["error"] as { code?: unknown; message?: unknown; data?: unknown };
      const name = codeNames.get(error.code as number);
      if (!name) at(f, `error code ${String(error.code)} is not one of ErrorCodes`);
      if (typeof error.message !== "string" || error.message === "") at(f, "error.message must be a non-empty string");
      const data = ErrorData.safeParse(error.data);
      // JSON-RPC's own errors, produced by the RPC library, carry no data.
      if (error.data === undefined && (JSON_RPC_OWN as readonly unknown[]).includes(error.code)) continue;
      if (!data.success) at(f, `error.data does not match ErrorData: ${describeIssues(data.error)}`);
      else if (name && data.data.name !== name) at(f, `error.data.name ${data.data.name} should be ${name} for code ${String(error.code)}`);
    } else if (!("result" in f.body)) {
      at(f, "a response needs result or error");
    } else if (d) {
      const parsed = d.result.safeParse(f.body["result"]);
      if (!parsed.success) at(f, `result does not match ${d.method} result: ${describeIssues(parsed.error)}`);
    }
  }
  return problems;
}
