import pino from "pino";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Host logs: JSON lines to `<workdir>/logs/host.log` (or the configured file), plus pretty output on
 * stderr when it is a terminal, or the same JSON lines when it is not (journald). Secrets are redacted by key name wherever they appear.
 */
export function createHostLogger(options: { workdir: string; level: string; file?: string }): pino.Logger {
  const file = options.file ?? join(options.workdir, "logs", "host.log");
  mkdirSync(join(file, ".."), { recursive: true });
  const streams: pino.StreamEntry[] = [{ level: options.level as pino.Level, stream: pino.destination({ dest: file, sync: false, mkdir: true }) }];
  if (process.stderr.isTTY) {
    streams.push({
      level: options.level as pino.Level,
      stream: pino.transport({ target: "pino-pretty", options: { destination: 2, colorize: true } }),
    });
  } else {
    // Under systemd stderr is the journal: the same JSON lines as the file.
    streams.push({ level: options.level as pino.Level, stream: pino.destination({ dest: 2, sync: false }) });
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
