import type { TranscriptMessage } from "@starling/protocol";
import { EMPTY_SCAN, readSkillNamed, scanSkills, type SkillFileOpener, workspaceRoot, type SkillScan } from "./skill-scan.js";
import { skillStamp } from "./skill-stamp.js";

export const SKILL_NOTICE_HEADER = "[Runtime Skill Updates]";
/** Longest SKILL.md text repeated in a notice; the rest is one skill_load away. */
const NOTICE_CONTENT_CHARS = 8000;
const NOTICE_TAG = /<skill name="([A-Za-z0-9_-]+)" version="([^"]+)">/g;
/** `name` and `version` lead skill_load's JSON, so they survive even a result cut short for the model. */
const LOAD_NAME = /^\{\s*"name":\s*"([A-Za-z0-9_-]+)",\s*"version":\s*"([0-9a-f]+)"/;

/**
 * The skills of a session's workspace (ARCHITECTURE §9 "Skills"): the snapshot the system prompt lists,
 * re-read at each turn start when the folder's stamp changed (skill-stamp.ts), and the notice for skills the model loaded that changed since.
 * Which version the model has seen comes from history (skill_load results and earlier notices), so
 * it is as durable as the transcript and needs no state of its own.
 */
export class SkillTracker {
  snapshot: SkillScan = EMPTY_SCAN;
  /** `seenVersions` of the history up to `seenUpTo` messages (history only grows; a shorter or different one is read again). */
  private seen = new Map<string, string>();
  private seenUpTo = 0;
  private lastSeenMessage: TranscriptMessage | undefined;
  private root: string | undefined;

  /** `skillStamp` of the folder as it was before `snapshot` was read (null: read it again next time). */
  private stamp: string | null = null;
  /** Loaded skills past the scan's bound, read by name for the notice; valid for `stamp` like `snapshot`. */
  private loadedPastScan: SkillScan = emptyScan();

  /** `openSkill`: how SKILL.md files are opened (the session's is the file tools' checked open, skill-scan.ts). */
  constructor(
    private readonly workspace: string,
    private readonly openSkill?: SkillFileOpener,
  ) {}

  /**
   * Reads the skills again unless the folder's stamp shows nothing changed since the last read. The
   * stamp covers `.skill` itself (its listing), the folders the last scan looked at and the `loaded`
   * skills: all a bounded scan and the notice depend on, so a store of thousands costs a few dozen
   * `stat`s a turn. When that set changes, the next turn's stamp differs once and reads again.
   */
  async refresh(loaded: Iterable<string> = []): Promise<SkillScan> {
    // The workspace's real path is resolved once per session: it is re-read at every turn start otherwise.
    this.root ??= await workspaceRoot(this.workspace);
    // Taken before the read: a change during the read makes the next stamp differ.
    const stamp = skillStamp(this.root, Date.now(), [...new Set([...this.snapshot.folders, ...loaded])]);
    if (stamp !== null && stamp === this.stamp) return this.snapshot;
    this.snapshot = await scanSkills(this.workspace, this.root, this.openSkill);
    this.loadedPastScan = emptyScan();
    this.stamp = stamp;
    return this.snapshot;
  }

  /** Re-reads the skills (when changed); returns the notice text for loaded skills that changed, or null. */
  async beforeTurn(history: readonly TranscriptMessage[]): Promise<string | null> {
    const seen = this.seenIn(history);
    const scan = await this.refresh(seen.keys());
    const past = await this.readLoadedPastScan(seen, scan);
    return skillNotice(seen, { ...emptyScan(), skills: [...scan.skills, ...past.skills], problems: [...scan.problems, ...past.problems] });
  }

  /** The skills the model loaded that the bounded scan did not read (it stops at SCAN_SKILLS_MAX), each read once per stamp. */
  private async readLoadedPastScan(seen: ReadonlyMap<string, string>, scan: SkillScan): Promise<SkillScan> {
    if (scan.unread === 0) return EMPTY_SCAN;
    const past = this.loadedPastScan;
    const known = (name: string) => [scan.skills, scan.problems, past.skills, past.problems].some((list) => list.some((s) => s.name === name));
    for (const name of seen.keys()) {
      if (known(name)) continue;
      const found = await readSkillNamed(this.root!, name, this.openSkill);
      if (found && "problem" in found) past.problems.push(found);
      else if (found) past.skills.push(found);
    }
    return past;
  }

  /** seenVersions(history), reading only the messages added since the last call. */
  private seenIn(history: readonly TranscriptMessage[]): Map<string, string> {
    if (history.length < this.seenUpTo || (this.seenUpTo > 0 && history[this.seenUpTo - 1] !== this.lastSeenMessage)) {
      this.seen = new Map();
      this.seenUpTo = 0;
    }
    addSeenVersions(this.seen, history, this.seenUpTo);
    this.seenUpTo = history.length;
    this.lastSeenMessage = history[history.length - 1];
    return this.seen;
  }
}

const emptyScan = (): SkillScan => ({ skills: [], problems: [], unread: 0, folders: [] });

/** For each skill the model has seen: the version it saw last (`deleted`/`broken` after such a notice). */
export function seenVersions(history: readonly TranscriptMessage[]): Map<string, string> {
  return addSeenVersions(new Map<string, string>(), history, 0);
}

function addSeenVersions(seen: Map<string, string>, history: readonly TranscriptMessage[], from: number): Map<string, string> {
  for (let i = from; i < history.length; i++) {
    const m = history[i]!;
    for (const item of m.content) {
      if (item.type === "tool_result" && item.name === "skill_load" && !item.isError) {
        const load = LOAD_NAME.exec(item.content);
        if (load) seen.set(load[1]!, load[2]!);
      } else if (item.type === "text" && m.role === "user" && item.text.startsWith(SKILL_NOTICE_HEADER)) {
        for (const tag of item.text.matchAll(NOTICE_TAG)) seen.set(tag[1]!, tag[2]!);
      }
    }
  }
  return seen;
}

export function skillNotice(seen: ReadonlyMap<string, string>, scan: SkillScan): string | null {
  const parts: string[] = [];
  for (const [name, version] of seen) {
    const skill = scan.skills.find((s) => s.name === name);
    const problem = scan.problems.find((p) => p.name === name);
    if (skill && skill.version !== version) {
      const cut = skill.content.length > NOTICE_CONTENT_CHARS;
      const text = cut ? `${skill.content.slice(0, NOTICE_CONTENT_CHARS)}\n… (cut; skill_load ${name} shows all of it)` : skill.content;
      parts.push(`<skill name="${name}" version="${skill.version}">\nThe skill ${name} changed since you loaded it. Its SKILL.md now reads:\n${text}\n</skill>`);
    } else if (!skill && problem && version !== "broken") {
      parts.push(`<skill name="${name}" version="broken">\nThe skill ${name} you loaded cannot be read now: ${problem.problem}.\n</skill>`);
    } else if (!skill && !problem && version !== "deleted") {
      parts.push(`<skill name="${name}" version="deleted">\nThe skill ${name} you loaded was deleted; do not follow it any more.\n</skill>`);
    }
  }
  return parts.length ? [SKILL_NOTICE_HEADER, ...parts].join("\n") : null;
}
