import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { type FoundReal, hiddenEntries, hiddenPathProblem, isSameOrUnder, MAX_REMEMBERED_PER_PATH, withoutTrailingSlash } from "@starling/protocol";
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
 * A real path a worker's own lookup first finds later in its life is reported by that worker (`reported`) and kept
 * the same way, before that worker's next tool, command or MCP server starts.
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
    const hand = (records: Map<string, RememberedReals>): string[] => {
      const reals = listed.flatMap((path) => records.get(path)?.reals ?? []);
      return [...new Set([...listed, ...reals])];
    };
    try {
      // A commit with nothing to write writes nothing (and passes no crash point).
      return await this.store.commit("hidden_paths", (tx) => hand(this.merge(found, tx, wanted)));
    } catch (error) {
      this.warn("could not store where hidden paths lead; this worker still masks them, later ones may not", { error: error instanceof Error ? error.message : String(error) });
      return hand(this.merge(found, null, wanted));
    }
  }

  /**
   * A worker's report of real paths its lookups found mid-life (`sandbox/hiddenPaths`), stored like a worker start's
   * (commit point `hidden_paths`) before the answer: the real paths of `listed` (the host's hidden paths) kept now.
   * Untrusted: a real path is kept only for a path the host lists, when it is a real path now (it exists, no link on
   * the way: a link's target could change), and when a worker start would keep it too (never a folder commands
   * need, shared/, a workspace or one holding them; at most MAX_REMEMBERED_PER_PATH per path). A failed write throws.
   */
  async reported(listed: readonly string[], reports: readonly FoundReal[]): Promise<string[]> {
    const hosted = new Set(listed);
    const found = reports.filter(({ listed: path, real }) => {
      const why = !hosted.has(path) ? "not a hidden path of this host" : real === withoutTrailingSlash(path) ? "the listed path itself" : realNow(real) !== real ? "not a real path now" : this.needed(real) ? "a folder every command needs, shared/ or a workspace" : null;
      if (why) this.warn("a worker reported a hidden path's real path this host does not keep", { listed: path, real, why });
      return why === null;
    });
    let records: Map<string, RememberedReals>;
    try {
      records = await this.store.commit("hidden_paths", (tx) => this.merge(found, tx));
    } catch (error) {
      this.warn("could not store where a worker found hidden paths lead; it still masks them, later workers may not", { error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    return reports.filter((r) => records.get(r.listed)?.reals.includes(r.real)).map((r) => r.real);
  }

  /**
   * The stored records with `found` added (writes into `tx`; none when null): the first MAX_REMEMBERED_PER_PATH
   * real paths per listed path. With `wanted`, the records of paths no longer listed are deleted.
   */
  private merge(found: readonly FoundReal[], tx: HostTransaction | null, wanted?: ReadonlySet<string>): Map<string, RememberedReals> {
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
    if (wanted) for (const path of records.keys()) if (!wanted.has(path)) tx?.del(HostKeys.hiddenReals(path));
    return records;
  }

  /** A real path that must never be masked for good: a folder every command needs, or one holding shared/ or a workspace. */
  private needed(real: string): boolean {
    if (hiddenPathProblem(real) !== null) return true;
    if (isSameOrUnder(this.sharedDir, real) || isSameOrUnder(this.conversationsRoot, real)) return true;
    return dirname(real) === this.conversationsRoot;
  }
}

function realOr(path: string): string {
  return realNow(path) ?? path;
}

/** The real path of `path`, or null when nothing is there. */
function realNow(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}
