import { setFlagsFromString } from "node:v8";

/**
 * From here on V8 compiles every function to baseline (Sparkplug) code on its first call. A worker
 * runs each turn path only a few times per conversation, mostly before V8 would tier it up, so
 * this saves worker CPU per turn (~14-16 -> 10-12 ms at 100 conversations, docs/PERFORMANCE.md).
 * It is switched on only once the session is open, not as a start flag: start-up code (module
 * bodies, schema construction) runs once, and its baseline code and feedback cost ~6 MB of idle
 * private memory for nothing.
 * Feedback vectors are allocated on a function's first call too: lazily, V8 waits until a function
 * has run ~8 times its bytecode size, i.e. several turns for code a turn runs once. This makes the
 * first turn ~1.5-3 ms dearer and turns 2-10 ~0.5 ms cheaper each (docs/PERFORMANCE.md, "Young
 * workers' turns"); switched on only after the first turn it saved nothing measurable.
 */
export function baselineCompileFromNowOn(): void {
  try {
    setFlagsFromString("--always-sparkplug");
    setFlagsFromString("--no-lazy-feedback-allocation");
  } catch {
    // A Node that freezes V8 flags after start: the worker runs as before, only slower per turn.
  }
}
