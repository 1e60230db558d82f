import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** How long the session must be quiet (no event) before the worker looks at its heap. */
export const IDLE_GC_MS = 5000;
/** Heap growth since the last collection (or since the session's first event) that is worth one. */
export const IDLE_GC_GROWTH_BYTES = 2 * 1024 * 1024;

/**
 * A compacting full garbage collection when the session has been quiet for IDLE_GC_MS: the first time
 * whatever the heap did, then each time the heap grew by IDLE_GC_GROWTH_BYTES since the last one.
 * Each turn leaves its request body, stream chunks and events behind; V8 collects its old generation
 * only when an allocation limit is reached, and that limit grows with the heap, so a worker resting
 * between messages kept garbage it no longer needed: live heap +2.7 kB per turn, RssAnon +50-100 kB
 * per turn (test/bench/worker-growth.ts). Start-up, `initialize` and the first turns leave ~2 MB of
 * V8 pages behind as well, less than the growth rule waits for, hence the first pause always collects
 * (docs/PERFORMANCE.md "Worker memory (session 8)"). Compaction moves the survivors together so whole
 * pages go back to the system. It costs tens of ms of CPU, once per pause, and only after a pause
 * (never between the turns of a busy session).
 */
export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private baseline: number | undefined;
  private collected = false;
  // Made at the first pause, not at start: exposing gc() creates a V8 context (~3-5 ms of CPU), which
  // a worker would otherwise pay before it answers its first request. Undefined until then; null when
  // this Node offers no gc().
  private gc: (() => void) | null | undefined;

  /** The session did something: look at the heap once it has been quiet for IDLE_GC_MS. */
  activity(): void {
    if (this.gc === null) return;
    this.baseline ??= getHeapStatistics().used_heap_size;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.idle(), IDLE_GC_MS).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private idle(): void {
    this.timer = undefined;
    if (this.gc === undefined) this.gc = exposeGc(); // once: null stays null
    if (!this.gc || (this.collected && getHeapStatistics().used_heap_size - (this.baseline ?? 0) < IDLE_GC_GROWTH_BYTES)) return;
    this.gc();
    this.collected = true;
    this.baseline = getHeapStatistics().used_heap_size;
  }
}

function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    if (typeof gc !== "function") return null;
    return () => {
      setFlagsFromString("--compact-on-every-full-gc");
      gc();
      setFlagsFromString("--no-compact-on-every-full-gc");
    };
  } catch {
    return null; // a Node that freezes V8 flags after start: no idle collection
  }
}
