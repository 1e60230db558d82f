import pino from "pino";
import { NO_REDACTION, type Redactor } from "@starling/protocol";

let redactor: Redactor = NO_REDACTION;

/** Every line written after this call passes `next` (set once the session's keys are known). */
export function redactWorkerLogs(next: Redactor): void {
  redactor = next;
}

/**
 * Worker logs: pino JSON lines to stderr (fd 2), or to the file named by STARLING_WORKER_LOG.
 * Level from STARLING_LOG_LEVEL (default info). Never stdout.
 */
export function createWorkerLogger(): pino.Logger {
  const file = process.env.STARLING_WORKER_LOG;
  const destination = pino.destination({ dest: file ?? 2, sync: true, mkdir: !!file, append: true });
  return pino(
    {
      level: process.env.STARLING_LOG_LEVEL ?? "info",
      base: { pid: process.pid, component: "worker" },
      redact: { paths: ["*.apiKey", "*.api_key", "*.authorization", "*.token"], censor: "[redacted]" },
    },
    { write: (line: string) => destination.write(redactor.redact(line)) },
  );
}
