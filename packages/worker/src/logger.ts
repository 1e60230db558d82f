import pino from "pino";
import { NO_REDACTION, type Redactor } from "@starling/protocol";

let redactor: Redactor = NO_REDACTION;
let sink: (line: string) => void = () => undefined;

/** Every line written after this call passes `next` (set once the session's keys are known). */
export function redactWorkerLogs(next: Redactor): void {
  redactor = next;
}

// Made when the module loads, so in a snapshot worker while the snapshot is built: pino's set-up
// (its redaction paths compile a function with `new Function`) cost ~5 ms of CPU at every start.
// It holds no file descriptor: createWorkerLogger gives it its destination, level and bindings.
const logger = pino(
  {
    level: "info",
    base: null,
    redact: { paths: ["*.apiKey", "*.api_key", "*.authorization", "*.token"], censor: "[redacted]" },
  },
  { write: (line: string) => sink(redactor.redact(line)) },
);

/**
 * Worker logs: pino JSON lines to stderr (fd 2), or to the file named by STARLING_WORKER_LOG.
 * Level from STARLING_LOG_LEVEL (default info). Never stdout. Called once per process.
 */
export function createWorkerLogger(): pino.Logger {
  const file = process.env.STARLING_WORKER_LOG;
  const destination = pino.destination({ dest: file ?? 2, sync: true, mkdir: !!file, append: true });
  logger.level = process.env.STARLING_LOG_LEVEL ?? "info";
  logger.setBindings({ pid: process.pid, component: "worker" });
  sink = (line) => destination.write(line);
  return logger;
}
