import { setFlagsFromString } from "node:v8";

/**
 * From here on V8 compiles every function to baseline (Sparkplug) code on its first call. A worker
 * runs each turn path only a few times per conversation, mostly before V8 would tier it up, so
 * this saves worker CPU per turn (~14-16 -> 10-12 ms at 100 conversations, docs/PERFORMANCE.md).
 * It is switched on only once the session is open, not as a start flag: start-up code (module
 * bodies, schema construction) runs once, and its baseline code and feedback cost ~6 MB of idle
 * private memory for nothing.
 */
export function baselineCompileFromNowOn(): void {
  try {
    setFlagsFromString("--always-sparkplug");
  } catch {
    // A Node that freezes V8 flags after start: the worker runs as before, only slower per turn.
  }
}
