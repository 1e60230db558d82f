import { SKILL_LIMITS, type RemoteMode, type SessionType } from "@starling/protocol";
import { SCAN_SKILLS_MAX, type SkillScan } from "../skills/skill-scan.js";

export interface SystemPromptInput {
  workspace: string;
  sessionType: SessionType;
  toolNames: readonly string[];
  now?: Date;
  extra?: string;
  /** Where the file tools and shell run (ARCHITECTURE §9.1); default locally. */
  remote?: RemoteMode;
  /** Skills found in `<workspace>/.skill/` (listed as `- name: description`). */
  skills?: SkillScan;
}

/** The system prompt of a session: who the agent is, where it works, today's date and how to use its tools. */
export function buildSystemPrompt(input: SystemPromptInput): string {
  const date = (input.now ?? new Date()).toISOString().slice(0, 10);
  const lines = [
    "You are Starling, an AI agent that works for the user inside a workspace folder on their server.",
    `Today's date is ${date}. Your workspace is ${input.workspace}; relative paths are resolved against it.`,
    input.sessionType === "foreground"
      ? "You are talking with the user in a chat. Answer concisely; use Markdown sparingly."
      : `You are a ${input.sessionType} agent: do the task you were given and report the result.`,
  ];
  if (input.toolNames.length) {
    lines.push(
      "",
      `Tools: ${input.toolNames.join(", ")}.`,
      "- Read before you edit: use file_read, ls, glob and grep to look; edit or apply_patch for changes, file_write for new files.",
      "- Paths outside the workspace are refused. Files under shared/ are shared with the user's other conversations.",
      "- shell runs commands in the workspace. Long commands keep running in the background: poll them with shell and the returned session_id, stop them with shell_close.",
      "- Tool output you see may be shortened; the full output is saved under .output/.",
      "- To send the user a file, put <attachment>relative/path</attachment> in your answer.",
    );
  }
  const remote = remoteLine(input.remote);
  if (remote && input.toolNames.length) lines.push(remote);
  lines.push(...skillLines(input.skills, input.toolNames));
  if (input.extra) lines.push("", input.extra);
  return lines.join("\n");
}

function remoteLine(remote: RemoteMode | undefined): string | null {
  if (remote?.mode === "fixed") {
    return `- Remote workspace: file_read, file_write, edit, apply_patch, glob, grep, ls and shell run on the SSH host ${remote.host} in ${remote.path}; their relative paths resolve there, not in the local workspace. Other tools and attachments use the local workspace.`;
  }
  if (remote?.mode === "selectable") {
    return "- The file tools and shell take an optional remote argument: an SSH Host alias (from ~/.ssh/config) to run on; paths are then relative to that account's home. Omit it to work in the local workspace.";
  }
  return null;
}

/**
 * How many skills (and broken ones) the system prompt lists, first by name: every prompt of every
 * conversation carries them (up to ~1 KB each), so a store of hundreds would crowd out the work.
 */
export const PROMPT_SKILLS_MAX = SCAN_SKILLS_MAX;
export const PROMPT_SKILL_PROBLEMS_MAX = 10;

/** The skills section: the first skills as `- name: description`, unreadable ones named with the reason. */
function skillLines(scan: SkillScan | undefined, toolNames: readonly string[]): string[] {
  const lines: string[] = [];
  if (toolNames.includes("skill_create")) {
    lines.push(
      "- To keep a skill for all conversations: write .skill/<name>/SKILL.md (first line ---, then name: <name> and description: <when to use it>, then ---, then the instructions), then call skill_create; after editing one, call skill_update.",
    );
  }
  if (scan?.skills.length || scan?.unread) {
    lines.push("", "Skills (folders under .skill/): before a task one of them covers, load it with skill_load and follow it.");
    for (const skill of scan.skills.slice(0, PROMPT_SKILLS_MAX)) lines.push(`- ${skill.name}: ${promptDescription(skill.name, skill.description)}`);
    // Folders the bounded scan did not read count as skills here (skill_load tells a broken one).
    const more = scan.skills.length - PROMPT_SKILLS_MAX + scan.unread;
    if (more > 0) {
      lines.push(`- … and ${more} more skill${more === 1 ? "" : "s"}, not listed to keep this prompt short: their folders are under .skill/; skill_load loads any of them by name (an unknown name answers with the names of all).`);
    }
  }
  if (scan?.problems.length) {
    lines.push("", "Skills that cannot be used until their SKILL.md is fixed:");
    for (const p of scan.problems.slice(0, PROMPT_SKILL_PROBLEMS_MAX)) lines.push(`- ${p.name}: ${p.problem}`);
    const more = scan.problems.length - PROMPT_SKILL_PROBLEMS_MAX;
    if (more > 0) lines.push(`- … and ${more} more; skill_load <name> says what is wrong with each.`);
  }
  return lines;
}

/** A description on one line, cut at SKILL_LIMITS.descriptionChars: a skill made by hand may have any length. */
function promptDescription(name: string, description: string): string {
  const line = description.replace(/\s+/g, " ");
  if (line.length <= SKILL_LIMITS.descriptionChars) return line;
  return `${line.slice(0, SKILL_LIMITS.descriptionChars)}… (cut; skill_load ${name} shows all of it)`;
}
