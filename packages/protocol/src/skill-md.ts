/**
 * The SKILL.md format and skill naming rules (ARCHITECTURE §9 "Skills"), shared by the worker
 * (discovery for the system prompt, skill_load) and the host (validation before a skill is persisted).
 *
 * Frontmatter scalars are read with the reference's rules (shared/reference/stellaclaw-tools-providers.md
 * §3.10) rather than a YAML parser: skills written for Stellaclaw often hold unquoted colons in their
 * description (`description: Use when: …`), which YAML rejects but the reference accepts.
 */

/** Folder (and skill) names: ASCII letters, digits, `_` and `-`. */
export const SKILL_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
export const SKILL_NAME_MAX = 64;

/** Limits of a persisted skill: it is copied into every workspace. */
export const SKILL_LIMITS = {
  /** SKILL.md itself. */
  skillMdBytes: 256 * 1024,
  /** Every file of the skill folder together. */
  totalBytes: 8 * 1024 * 1024,
  files: 200,
  /**
   * A description: it is listed in every system prompt of every conversation. The Agent Skills
   * format's own limit; the worker cuts a longer one (a skill put in the store by hand) in the prompt.
   */
  descriptionChars: 1024,
} as const;

/** `null` when `name` is a valid skill name, else why not (one sentence). */
export function skillNameProblem(name: string): string | null {
  if (name === "") return "skill_name is empty";
  if (name.trim() !== name) return `skill_name "${name}" has surrounding whitespace`;
  if (!SKILL_NAME_PATTERN.test(name)) return `skill_name "${name}" may hold only letters, digits, _ and - (it is the folder name under .skill/)`;
  if (name.length > SKILL_NAME_MAX) return `skill_name is longer than ${SKILL_NAME_MAX} characters`;
  return null;
}

/** `null` when `branch` (already trimmed) is a safe git ref for an upstream, else why not. */
export function branchProblem(branch: string): string | null {
  if (branch.startsWith("-") || branch.startsWith("/")) return `branch "${branch}" must not start with - or /`;
  if (branch.endsWith("/") || branch.endsWith(".lock")) return `branch "${branch}" must not end with / or .lock`;
  if (branch.includes("..") || branch.includes("//") || branch.includes("@")) return `branch "${branch}" must not contain .., // or @`;
  if (/[\s~^:?*[\\\u0000-\u001f\u007f]/.test(branch)) return `branch "${branch}" must not contain whitespace or any of ~ ^ : ? * [ \\`;
  return null;
}

/** `null` when `url` can be a git remote of a skill, else why not. */
export function repoUrlProblem(url: string): string | null {
  if (url === "") return "repo_url is empty";
  if (/\s/.test(url)) return "repo_url must not contain whitespace";
  if (url.startsWith("-")) return "repo_url must not start with - (git would read it as an option)";
  return null;
}

export type SkillMd =
  | { ok: true; name: string; description: string; body: string }
  | { ok: false; error: string };

/**
 * Strict check of a SKILL.md before it is persisted (skill_create/skill_update): the first line is
 * exactly `---` (so a CRLF file fails), the frontmatter ends at the first `\n---`, and it has a `name`
 * equal to `folder` and a non-blank `description`.
 */
export function validateSkillMd(text: string, folder: string): SkillMd {
  const front = frontmatter(text);
  if (typeof front === "string") return { ok: false, error: front };
  const name = scalar(front.block, "name");
  if (name === undefined) return { ok: false, error: `SKILL.md frontmatter has no name: add "name: ${folder}"` };
  if (name !== folder) return { ok: false, error: `SKILL.md frontmatter name "${name}" differs from its folder "${folder}": they must be equal` };
  const description = scalar(front.block, "description");
  if (description === undefined || description.trim() === "") {
    return { ok: false, error: "SKILL.md frontmatter has no description: add one line saying what the skill does and when to use it" };
  }
  const trimmed = description.trim();
  if (trimmed.length > SKILL_LIMITS.descriptionChars) {
    return {
      ok: false,
      error: `SKILL.md description is ${trimmed.length} characters; the limit is ${SKILL_LIMITS.descriptionChars} (it is in every system prompt): say when to use the skill there and put the rest in the body`,
    };
  }
  return { ok: true, name, description: trimmed, body: front.body };
}

/**
 * Lenient reading for discovery: the description is the frontmatter `description`, else the first
 * paragraph after leading `#` heading lines. Fails only on a frontmatter that never closes.
 */
export function describeSkillMd(text: string): { description: string } | { error: string } {
  if (text.startsWith("---")) {
    const front = frontmatter(text.replace(/\r\n/g, "\n"));
    if (typeof front === "string") return { error: front };
    const description = scalar(front.block, "description")?.trim();
    if (description) return { description };
    return { description: firstParagraph(front.body) };
  }
  return { description: firstParagraph(text) };
}

function frontmatter(text: string): { block: string; body: string } | string {
  const firstLine = text.split("\n", 1)[0];
  if (firstLine !== "---") {
    return firstLine === "---\r"
      ? "SKILL.md must start with YAML frontmatter: its first line is `---` with Windows line ends (CRLF); save it with \\n line ends"
      : "SKILL.md must start with YAML frontmatter: a first line `---`, then name and description, then a line `---`";
  }
  const end = text.indexOf("\n---", 3);
  if (end < 0) return "SKILL.md frontmatter is not closed: add a line `---` after name and description";
  const after = text.indexOf("\n", end + 4);
  return { block: text.slice(4, end), body: after < 0 ? "" : text.slice(after + 1) };
}

/**
 * The reference's scalar: the first line whose trimmed text starts with `key:`; an empty value is
 * absent; `|`, `>`, `|-`, `>-` collect the following indented or blank lines (literal joins with
 * newlines, folded with spaces); matching single or double quotes are removed.
 */
function scalar(block: string, key: string): string | undefined {
  const lines = block.split("\n");
  const at = lines.findIndex((l) => l.trim().startsWith(`${key}:`));
  if (at < 0) return undefined;
  const value = lines[at]!.trim().slice(key.length + 1).trim();
  if (["|", ">", "|-", ">-"].includes(value)) {
    const collected: string[] = [];
    for (const line of lines.slice(at + 1)) {
      if (line.trim() !== "" && !/^\s/.test(line)) break;
      collected.push(line.trim());
    }
    while (collected.length && collected[collected.length - 1] === "") collected.pop();
    const joined = value.startsWith("|") ? collected.join("\n") : collected.filter((l) => l !== "").join(" ");
    return joined === "" ? undefined : joined;
  }
  if (value === "") return undefined;
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? quoted[2] : value;
}

function firstParagraph(body: string): string {
  const lines = body.replace(/\r\n/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length && (lines[i]!.trim() === "" || lines[i]!.trim().startsWith("#"))) i++;
  const paragraph: string[] = [];
  for (; i < lines.length && lines[i]!.trim() !== ""; i++) paragraph.push(lines[i]!.trim());
  return paragraph.join(" ");
}
