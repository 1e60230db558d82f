import type { WorkerLogger } from "./logger.js";

/**
 * How long a frame body may go without a byte before the worker drops it (docs/protocol.md "Framing").
 * A client writes a frame in one go; even a 64 MiB one through a full pipe keeps moving while the client
 * runs. A minute without a byte is a client that miscounted Content-Length (or stopped), which would
 * otherwise wait for an answer that never comes.
 */
export const DEFAULT_FRAME_STALL_MS = 60_000;

/** `STARLING_FRAME_STALL_MS` (tests shorten it), or the default. */
export function frameStallMs(log: WorkerLogger, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env["STARLING_FRAME_STALL_MS"];
  if (raw === undefined || raw === "") return DEFAULT_FRAME_STALL_MS;
  const ms = Number(raw);
  if (Number.isInteger(ms) && ms > 0) return ms;
  log.warn({ STARLING_FRAME_STALL_MS: raw, usedMs: DEFAULT_FRAME_STALL_MS }, "STARLING_FRAME_STALL_MS must be a whole number of milliseconds > 0; using the default");
  return DEFAULT_FRAME_STALL_MS;
}
