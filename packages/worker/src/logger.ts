import { mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { NO_REDACTION, type Redactor } from "@starling/protocol";

/** pino's level numbers, so the host reads a worker's lines as it reads its own. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevel = keyof typeof LEVELS;
/** Keys whose values are never logged, in any object given to a log call (pino's `*.apiKey`-style paths). */
const SECRET_KEYS = new Set(["apiKey", "api_key", "authorization", "token"]);
const CENSOR = "[redacted]";

type LogCall = (objOrMsg: object | string, msg?: string) => void;
/** The few calls the worker makes; the shape pino's logger has for them. */
export interface WorkerLogger {
  trace: LogCall;
  debug: LogCall;
  info: LogCall;
  warn: LogCall;
  error: LogCall;
  fatal: LogCall;
}

let redactor: Redactor = NO_REDACTION;

/** Every line written after this call passes `next` (set once the session's keys are known). */
export function redactWorkerLogs(next: Redactor): void {
  redactor = next;
}

/** The redactor log lines pass (secrets learned later, such as a renewed token, are added to it). */
export function workerLogRedactor(): Redactor {
  return redactor;
}

/**
 * A logger writing pino-compatible JSON lines (`level`, `time`, the bindings, the object's fields, `msg`)
 * to `write`, from `level` up. Not pino itself: the worker logs a handful of lines in its life, and pino
 * with its serializers, redaction and stream was ~80 kB of the start-up snapshot's script, which every
 * worker holds twice in private memory (docs/PERFORMANCE.md, "Session 12").
 */
export function createLogger(level: string, bindings: Record<string, unknown>, write: (line: string) => void): WorkerLogger {
  if (!Object.hasOwn(LEVELS, level)) throw new Error(`unknown log level "${level}" (STARLING_LOG_LEVEL): use one of ${Object.keys(LEVELS).join(", ")}`);
  const min = LEVELS[level as LogLevel];
  const prefix = JSON.stringify(bindings).slice(1, -1);
  const at =
    (n: number): LogCall =>
    (objOrMsg, msg) => {
      if (n < min) return;
      const fields = typeof objOrMsg === "string" ? "" : safeFields(objOrMsg);
      const text = typeof objOrMsg === "string" ? objOrMsg : msg;
      let line = `{"level":${n},"time":${Date.now()}`;
      if (prefix) line += `,${prefix}`;
      if (fields) line += `,${fields}`;
      if (text !== undefined) line += `,"msg":${JSON.stringify(text)}`;
      write(redactor.redact(`${line}}\n`));
    };
  return { trace: at(10), debug: at(20), info: at(30), warn: at(40), error: at(50), fatal: at(60) };
}

/** The object's fields as JSON members: Errors as {type, message, stack}, secret keys one level down censored. */
function safeFields(obj: object): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) out[key] = value instanceof Error ? errorFields(value) : censorSecrets(value);
  try {
    return JSON.stringify(out).slice(1, -1);
  } catch (err) {
    return `"logError":${JSON.stringify(`unserialisable log fields: ${(err as Error).message}`)}`;
  }
}

function censorSecrets(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    if (!SECRET_KEYS.has(key)) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = CENSOR;
  }
  return copy ?? value;
}

function errorFields(err: Error): Record<string, unknown> {
  return { type: err.name, message: err.message, stack: err.stack };
}

/**
 * Worker logs: JSON lines to stderr (fd 2), or appended to the file named by STARLING_WORKER_LOG.
 * Level from STARLING_LOG_LEVEL (default info). Never stdout. Called once per process. Written
 * synchronously: a line logged just before the process exits is not lost.
 */
export function createWorkerLogger(): WorkerLogger {
  const file = process.env.STARLING_WORKER_LOG;
  let fd = 2;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, "a");
  }
  return createLogger(process.env.STARLING_LOG_LEVEL ?? "info", { pid: process.pid, component: "worker" }, (line) => writeAll(fd, line));
}

/** Writes the whole line; a full pipe (EAGAIN) is waited out briefly, then the line is dropped rather than the worker blocked. */
function writeAll(fd: number, line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0 && tries < 100; ) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
      tries++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
