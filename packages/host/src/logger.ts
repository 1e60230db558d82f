import pino from "pino";
import { NO_REDACTION, type Redactor } from "@starling/protocol";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Host logs: JSON lines to `<workdir>/logs/host.log` (or the configured file), plus pretty output on
 * stderr when it is a terminal, or the same JSON lines when it is not (journald). Every line passes the value-based redactor (any secret value the config names, wherever
 * it appears); keys that look like credentials are censored as well.
 */
export function createHostLogger(options: { workdir: string; level: string; file?: string; redactor?: Redactor }): pino.Logger {
  const redactor = options.redactor ?? NO_REDACTION;
  const file = options.file ?? join(options.workdir, "logs", "host.log");
  mkdirSync(join(file, ".."), { recursive: true });
  const streams: pino.StreamEntry[] = [{ level: options.level as pino.Level, stream: redacting(new LogFile(file), redactor) }];
  if (process.stderr.isTTY) {
    streams.push({
      level: options.level as pino.Level,
      stream: redacting(pino.transport({ target: "pino-pretty", options: { destination: 2, colorize: true } }), redactor),
    });
  } else {
    // Under systemd stderr is the journal: the same JSON lines as the file.
    streams.push({ level: options.level as pino.Level, stream: redacting(pino.destination({ dest: 2, sync: false }), redactor) });
  }
  return pino(
    {
      level: options.level,
      // No `component` in base: children set their own, and pino would write the key twice.
      redact: { paths: ["token", "*.token", "apiKey", "*.apiKey", "*.api_key", "*.authorization", "botToken"], censor: "[redacted]" },
    },
    pino.multistream(streams),
  );
}

type FlushableStream = pino.DestinationStream & { flush?: () => void; flushSync?: () => void; end?: () => void };

/** `stream` with every written line redacted; flush and end pass through. */
function redacting(stream: FlushableStream, redactor: Redactor): FlushableStream {
  if (redactor === NO_REDACTION) return stream;
  return {
    write: (line: string) => stream.write(redactor.redact(line)),
    flush: () => stream.flush?.(),
    flushSync: () => stream.flushSync?.(),
    end: () => stream.end?.(),
  };
}

/**
 * The log file, one `write` per line. A full or failing disk drops lines instead of stopping the host,
 * and the first line that gets through says how many were lost. (pino.destination is not used for the
 * file: on ENOSPC its stream throws an uncaught error, and its exit hook then retries the write forever.)
 */
class LogFile implements FlushableStream {
  private readonly fd: number;
  private dropped = 0;
  private lastError = "";

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a");
  }

  write(line: string): void {
    try {
      if (this.dropped) {
        const note = { level: 40, time: Date.now(), pid: process.pid, msg: `${this.dropped} log lines were lost (${this.lastError})` };
        writeSync(this.fd, `${JSON.stringify(note)}\n`);
        this.dropped = 0;
      }
      writeSync(this.fd, line);
    } catch (err) {
      this.dropped++;
      this.lastError = (err as NodeJS.ErrnoException).code ?? String(err);
    }
  }

  flush(): void {}
  flushSync(): void {}
  end(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
