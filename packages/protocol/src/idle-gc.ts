import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface IdleCollectorOptions {
  /** How long the process must be quiet (no `activity()`) before it looks at its heap. */
  quietMs: number;
  /** Growth of the old generation since the last collection (or since the first activity) that is worth one. */
  growthBytes: number;
  /** Called at each pause, before the heap is looked at: drops what is kept only for work (a worker's request-body buffer). */
  onPause?: () => void;
  /** Tests only: the collection and the heap's used size (default: V8's gc() with compaction, and oldGenerationUsed()). */
  collect?: () => void;
  heapUsed?: () => number;
}

/**
 * A compacting full garbage collection once the process has been quiet for `quietMs`: the first time
 * whatever the heap did, then each time its old generation grew by `growthBytes` since the last one. V8
 * collects its old generation only when an allocation limit is reached, and that limit grows with the
 * heap, so a process resting after work kept the garbage of that work (and the pages holding it) until
 * more work came. Compaction moves the survivors together so whole pages go back to the system. It
 * costs tens of ms of CPU (~130-220 ms in a host after a flood of 1 000 chats), once per pause, and only
 * after a pause (never while `activity()` keeps coming). Used by the worker (a session's events;
 * docs/PERFORMANCE.md "Worker memory (session 8)") and the host (its commits; "Host memory after a
 * flood (session 11)").
 */
export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private baseline: number | undefined;
  private collected = false;
  // Made at the first pause, not at start: exposing gc() creates a V8 context (~3-5 ms of CPU), which
  // a worker would otherwise pay before it answers its first request. Undefined until then; null when
  // this Node offers no gc().
  private gc: (() => void) | null | undefined;
  private readonly heapUsed: () => number;

  constructor(private readonly options: IdleCollectorOptions) {
    this.gc = options.collect;
    this.heapUsed = options.heapUsed ?? oldGenerationUsed;
  }

  /** The process did something: look at the heap once it has been quiet for `quietMs`. */
  activity(): void {
    if (this.gc === null) return;
    this.baseline ??= this.heapUsed();
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.idle(), this.options.quietMs).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private idle(): void {
    this.timer = undefined;
    this.options.onPause?.();
    if (this.gc === undefined) this.gc = exposeGc(); // once: null stays null
    if (!this.gc || (this.collected && this.heapUsed() - (this.baseline ?? 0) < this.options.growthBytes)) return;
    this.gc();
    this.collected = true;
    this.baseline = this.heapUsed();
  }
}

/**
 * Bytes used outside the young generation: what only a full collection frees. The young generation's
 * fill swings by up to a semi-space (8 MB in the host) between two scavenges, which would swamp the growth rule.
 */
function oldGenerationUsed(): number {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) if (!s.space_name.startsWith("new_")) used += s.space_used_size;
  return used;
}

function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    if (typeof gc !== "function") return null;
    if (startedCompacting()) return gc as () => void; // compaction is on for every full GC already: leave it on
    return () => {
      setFlagsFromString("--compact-on-every-full-gc");
      gc();
      setFlagsFromString("--no-compact-on-every-full-gc");
    };
  } catch {
    return null; // a Node that freezes V8 flags after start: no idle collection
  }
}

/** Whether the process was started with `--compact-on-every-full-gc` (the host's HOST_NODE_FLAGS), on its command line or in NODE_OPTIONS. */
function startedCompacting(): boolean {
  const flags = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)];
  return flags.some((f) => f.replaceAll("_", "-") === "--compact-on-every-full-gc");
}
