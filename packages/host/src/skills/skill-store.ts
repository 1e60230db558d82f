import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type ConfinedDir, crashPoint, type CoordinateActionResult, type CoordinatePayload, type UpstreamPush } from "@starling/protocol";
import { isCopyLeftover, prepareSkillCopy, removeEntry, repairSkillCopy, replaceSkillDir, sameSkillFiles, SkillError, swapInSkillCopy, withSkillsDir, withWorkspaceSkills } from "./skill-files.js";
import { takeStagedSkill } from "./skill-take.js";
import { pushSkillUpstream, type SkillUpstream } from "./skill-git.js";

/**
 * Durable writes of the skill store outside the host database (STARLING_CRASH_AT): `skill_store`
 * after the runtime copy (rundir/.skill/<name>) was replaced or removed and its upstream record
 * written, before any workspace is synced; `skill_sync` after each workspace copy.
 */
export const SKILL_CRASH_POINTS = ["skill_store", "skill_sync"] as const;

const Upstream = z.object({ repo_url: z.string().min(1), branch: z.string().min(1) });
const DEFAULT_BRANCH = "main";
/** Infix of a store copy a skill_delete moved aside (`<name>.deleted-<pid>-<ms>`); names hold no dots. */
const DELETED = ".deleted-";

type SyncFailure = { conversation: string; error: string };

/**
 * The persistent skill store (ARCHITECTURE §7, §9 "Skills"): `rundir/.skill/<name>/` is the source
 * of truth, `rundir/.skill_upstreams/<name>.json` an optional git remote, and every conversation
 * workspace gets a copy in `.skill/<name>/`. A skill is staged by the agent in its own workspace first.
 */
export class SkillStore {
  constructor(private readonly workdir: string) {}

  private get runtimeDir(): string {
    return join(this.workdir, "rundir", ".skill");
  }
  private runtime(name: string): string {
    return join(this.runtimeDir, name);
  }
  private upstreamFile(name: string): string {
    return join(this.workdir, "rundir", ".skill_upstreams", `${name}.json`);
  }
  private get conversationsDir(): string {
    return join(this.workdir, "conversations");
  }

  /**
   * skill_create: persist the staged skill and sync it. Repeating it for a stored skill with the same
   * files (a call re-run after a crash) syncs again instead of failing.
   */
  create(workspace: string, { skill_name: name }: CoordinatePayload<"skill_create">): CoordinateActionResult<"skill_create"> {
    withSkillsDir(this.runtimeDir, (store) => {
      const copy = this.take(store, workspace, name);
      if (existsSync(this.runtime(name)) && !sameSkillFiles(copy, this.runtime(name))) {
        rmSync(copy, { recursive: true, force: true });
        throw new SkillError(`skill ${name} already exists: call skill_update to change it, or choose another name`);
      }
      swapInSkillCopy(store, name);
    });
    crashPoint("skill_store");
    return { created: true, skill_name: name, ...this.sync(name, workspace) };
  }

  /** skill_update: replace the stored skill with the staged one, push it upstream if one is set, sync it. */
  async update(workspace: string, { skill_name: name }: CoordinatePayload<"skill_update">): Promise<CoordinateActionResult<"skill_update">> {
    this.requireStored(name);
    // Read before the store changes: a damaged record refuses the update instead of leaving it stored but not synced.
    const upstream = this.upstream(name);
    withSkillsDir(this.runtimeDir, (store) => {
      this.take(store, workspace, name);
      swapInSkillCopy(store, name);
    });
    crashPoint("skill_store");
    const upstream_push: UpstreamPush = upstream
      ? await pushSkillUpstream(this.runtime(name), name, upstream)
      : { configured: false, pushed: false, committed: false, repo_url: null, branch: null };
    return { updated: true, skill_name: name, ...this.sync(name, workspace), upstream_push };
  }

  /**
   * skill_delete: remove the stored skill, its upstream record and every workspace copy. The store
   * copy is moved aside first (a crash never leaves half a skill there) and stays, as the mark of a
   * delete under way, until every workspace is done: a repeat after a crash finds it and finishes.
   */
  delete({ skill_name: name }: CoordinatePayload<"skill_delete">): CoordinateActionResult<"skill_delete"> {
    const pending = this.deletedCopies(name);
    if (pending.length === 0 || existsSync(this.runtime(name))) {
      this.requireStored(name);
      const doomed = `${this.runtime(name)}${DELETED}${process.pid}-${Date.now()}`;
      renameSync(this.runtime(name), doomed);
      pending.push(doomed);
    }
    rmSync(this.upstreamFile(name), { force: true });
    crashPoint("skill_store");
    const synced = this.sync(name, null);
    // A workspace that could not be cleaned keeps the mark, so repeating skill_delete tries it again.
    if (!synced.sync_failures) for (const doomed of pending) rmSync(doomed, { recursive: true, force: true });
    return { deleted: true, skill_name: name, ...synced };
  }

  /** Store copies of `name` moved aside by a skill_delete that has not finished. */
  private deletedCopies(name: string): string[] {
    if (!existsSync(this.runtimeDir)) return [];
    return readdirSync(this.runtimeDir).filter((n) => n.startsWith(`${name}${DELETED}`)).map((n) => join(this.runtimeDir, n));
  }

  /** skill_set_upstream: record the git remote later updates push to. */
  setUpstream(payload: CoordinatePayload<"skill_set_upstream">): CoordinateActionResult<"skill_set_upstream"> {
    const name = payload.skill_name;
    this.requireStored(name);
    const upstream: SkillUpstream = { repo_url: payload.repo_url, branch: payload.branch || DEFAULT_BRANCH };
    const file = this.upstreamFile(name);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(upstream, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    crashPoint("skill_store");
    return { configured: true, skill_name: name, repo_url: upstream.repo_url, branch: upstream.branch, push_on_update: true };
  }

  /** The stored upstream of a skill, or null (an unreadable record counts as none and is reported by name). */
  upstream(name: string): SkillUpstream | null {
    const file = this.upstreamFile(name);
    if (!existsSync(file)) return null;
    let parsed: ReturnType<typeof Upstream.safeParse> | undefined;
    try {
      parsed = Upstream.safeParse(JSON.parse(readFileSync(file, "utf8")));
    } catch {
      // Not JSON (edited by hand, or not a file): the same refusal as a record of the wrong shape.
    }
    if (!parsed?.success) throw new SkillError(`the upstream record rundir/.skill_upstreams/${name}.json is damaged; call skill_set_upstream for ${name} again`);
    return parsed.data;
  }

  /** Skills in the store (for new workspaces). */
  names(): string[] {
    if (!existsSync(this.runtimeDir)) return [];
    return readdirSync(this.runtimeDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !isCopyLeftover(e.name) && !e.name.includes(DELETED))
      .map((e) => e.name)
      .sort();
  }

  /**
   * Copies the staged skill beside its store copy and checks that copy (skill-take.ts): the agent's
   * workspace may change between a check and a copy, the host's copy does not. Returns the copy's path;
   * swapInSkillCopy moves it into the store.
   */
  private take(store: ConfinedDir, workspace: string, name: string): string {
    const copy = prepareSkillCopy(store, name);
    takeStagedSkill(workspace, name, copy);
    return copy;
  }

  private requireStored(name: string): void {
    withSkillsDir(this.runtimeDir, (store) => repairSkillCopy(store, name));
    if (!existsSync(this.runtime(name))) {
      const known = this.names();
      throw new SkillError(`no stored skill ${name}${known.length ? ` (stored: ${known.join(", ")})` : ""}: use skill_create for a new skill`);
    }
  }

  /**
   * Copies the stored skill (or removes it, when deleted) into every conversation workspace; returns how
   * many. Each workspace's `.skill` is held open meanwhile (skill-files.ts): a swap for a link is never followed.
   */
  private sync(name: string, source: string | null): { synced_workspaces: number; sync_failures?: SyncFailure[] } {
    if (!existsSync(this.conversationsDir)) return { synced_workspaces: 0 };
    let count = 0;
    const failures: SyncFailure[] = [];
    for (const entry of readdirSync(this.conversationsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const workspace = join(this.conversationsDir, entry.name);
      let synced: true | null;
      try {
        synced = withWorkspaceSkills(workspace, (root) => {
          if (!existsSync(this.runtime(name))) removeEntry(root, name);
          else if (workspace !== source) replaceSkillDir(this.runtime(name), root, name);
          return true as const;
        });
      } catch (error) {
        // One workspace (a full disk, a hostile .skill) must not keep the change from the others.
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ conversation: entry.name, error: message.length > 300 ? `…${message.slice(-300)}` : message });
        continue;
      }
      if (!synced) continue;
      count += 1;
      crashPoint("skill_sync");
    }
    return { synced_workspaces: count, ...(failures.length ? { sync_failures: failures } : {}) };
  }
}
