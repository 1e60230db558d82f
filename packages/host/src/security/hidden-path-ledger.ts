import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { hiddenEntries, hiddenPathProblem, isSameOrUnder, MAX_REMEMBERED_PER_PATH, withoutTrailingSlash } from "@starling/protocol";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";


/** A listed hidden path and the real paths it led to at worker starts (`hiddenreal:<listed>`). */
interface RememberedReals {
  listed: string;
  reals: string[];
}

/**
 * The real paths each hidden path (`initialize.sandbox.hiddenPaths`: `sandbox.hidden_paths`, the config and env
 * file) led to at any worker start, kept in the host's database so they outlive every worker and host restart. A
 * listed path that goes through a symlink the agent can rewrite (`<workspace>/link/secret.env`, or a link in
 * `shared/`) stays hidden where it led before the link was repointed, also for a worker that starts after the
 * repoint (the session's next worker, another conversation's): each launch gets the listed paths plus the real
 * paths remembered for them, which the worker masks and refuses like listed ones (wherever something is there).
 *
 * It lives in the host's state (`DIR/state/host`): not in a workspace, absent from bubblewrap (in subprocess mode
 * commands can reach it, as they can reach the secrets themselves). It is
 * bounded (MAX_REMEMBERED_PER_PATH per listed path, the earliest kept, so repointing a link many times cannot push
 * the real target out), and never remembers a folder every command needs (`/usr`, `/etc`…), the shared folder, the
 * conversations' folder or a workspace, or a folder holding one: repointing a link there would otherwise mask what
 * every later command needs, for good. Only entries still listed are used; an entry removed from the config is
 * forgotten at the next worker start. Durable write: `hidden_paths` (STARLING_CRASH_AT), before the launch uses it.
 */
export class HiddenPathLedger {
  private readonly conversationsRoot: string;
  private readonly sharedDir: string;

  constructor(
    private readonly store: HostStore,
    workdir: string,
    private readonly warn: (message: string, fields: Record<string, unknown>) => void = () => {},
  ) {
    // Compared with real paths: the workdir may be reached through a link.
    const real = realOr(workdir);
    this.conversationsRoot = join(real, "conversations");
    this.sharedDir = realOr(join(real, "rundir", "shared"));
  }

  /**
   * `listed` and every real path remembered for its entries, after storing the ones found now. The records are
   * merged inside the commit, where in-flight commits' writes are seen: two launches at once lose neither's path. A
   * failed write (a full disk) does not stop the launch: what was found now is still handed on, and a warning logged.
   */
  async withRemembered(listed: readonly string[]): Promise<string[]> {
    const found = hiddenEntries(listed).filter((entry) => entry.real !== withoutTrailingSlash(entry.listed) && !this.needed(entry.real));
    const wanted = new Set(listed);
    const merge = (tx: HostTransaction | null): string[] => {
      const records = new Map(this.store.list<RememberedReals>("hiddenreal:").map((r) => [r.listed, r]));
      for (const entry of found) {
        const record = records.get(entry.listed) ?? { listed: entry.listed, reals: [] };
        if (record.reals.includes(entry.real)) continue;
        if (record.reals.length >= MAX_REMEMBERED_PER_PATH) {
          this.warn("a hidden path led to more real paths than are remembered; this one is hidden only while it is listed there", { listed: entry.listed, real: entry.real, remembered: record.reals.length });
          continue;
        }
        const grown = { listed: entry.listed, reals: [...record.reals, entry.real] };
        records.set(entry.listed, grown);
        tx?.put(HostKeys.hiddenReals(entry.listed), grown);
      }
      for (const path of records.keys()) if (!wanted.has(path)) tx?.del(HostKeys.hiddenReals(path));
      const reals = listed.flatMap((path) => records.get(path)?.reals ?? []);
      return [...new Set([...listed, ...reals])];
    };
    try {
      // A commit with nothing to write writes nothing (and passes no crash point).
      return await this.store.commit("hidden_paths", (tx) => merge(tx));
    } catch (error) {
      this.warn("could not store where hidden paths lead; this worker still masks them, later ones may not", { error: error instanceof Error ? error.message : String(error) });
      return merge(null);
    }
  }

  /** A real path that must never be masked for good: a folder every command needs, or one holding shared/ or a workspace. */
  private needed(real: string): boolean {
    if (hiddenPathProblem(real) !== null) return true;
    if (isSameOrUnder(this.sharedDir, real) || isSameOrUnder(this.conversationsRoot, real)) return true;
    return dirname(real) === this.conversationsRoot;
  }
}

function realOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
