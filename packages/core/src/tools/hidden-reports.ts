import { type FoundReal, type HiddenPathMemory, processHiddenMemory, withoutTrailingSlash } from "@starling/protocol";

/** Hands real paths of hidden paths to the host (`sandbox/hiddenPaths`); resolves once it answered, never rejects. */
export type ReportHidden = (found: FoundReal[]) => Promise<void>;

/**
 * Reports each real path a hidden path led to that this worker's lookups find mid-life (a link repointed, a listed
 * path created, since the host looked at the worker's start), as soon as one is found, so the host keeps it for
 * later workers: after this worker exits, the link may be pointed elsewhere and no later lookup would find it.
 * `settled()` resolves once everything found so far was answered: the tool runtime awaits it after its lookup and
 * before each tool call, the launcher before each command or MCP server starts (whose bubblewrap arguments looked
 * again), so no tool runs while a path it could repoint is known only to this process. Only paths the host listed
 * are reported (not the well-known secrets the worker adds), and not the real paths it handed in `hiddenPaths` (found
 * at the worker's start or reported before).
 */
export class HiddenPathReports {
  private queued: FoundReal[] = [];
  private sending: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;

  constructor(handed: readonly string[], private readonly send: ReportHidden, memory: HiddenPathMemory = processHiddenMemory) {
    const listed = new Set(handed);
    const known = new Set(handed.map(withoutTrailingSlash));
    this.unsubscribe = memory.onRemembered((found) => {
      if (listed.has(found.listed) && !known.has(found.real)) this.queue(found);
    });
  }

  /** Resolves once every real path found so far was reported and answered. */
  settled(): Promise<void> {
    return this.sending;
  }

  dispose(): void {
    this.unsubscribe();
  }

  private queue(found: FoundReal): void {
    this.queued.push(found);
    // One report per batch: what a lookup finds together (or before the previous report was answered) goes at once.
    if (this.queued.length > 1) return;
    this.sending = this.sending.then(() => this.send(this.queued.splice(0)).catch(() => undefined));
  }
}
