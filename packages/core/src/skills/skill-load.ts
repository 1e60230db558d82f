import { lazyArguments, skillNameProblem } from "@starling/protocol";
import { z } from "zod";
import { defineTool, type ToolContext } from "../tools/define-tool.js";
import { ToolError } from "../tools/errors.js";
import { readSkillNamed, SKILL_DIR, skillFiles, skillFolderNames, workspaceRoot } from "./skill-scan.js";

const skillLoadParameters = lazyArguments(() => z.object({
  skill_name: z.string().trim().min(1, "skill_name must not be empty").describe("Name of the skill, as listed in the system prompt."),
}));

/**
 * skill_load (reference §3.10): the skill's SKILL.md and the list of its other files, read from
 * `<workspace>/.skill/<name>/` now. The result is JSON whose first fields are `name` and `version`,
 * which the session reads back from history to tell the model when a loaded skill changes.
 */
export const skillLoadTool = defineTool({
  name: "skill_load",
  description:
    "Load a skill: returns its SKILL.md (instructions to follow) and lists its other files, which you can read with file_read. " +
    "The system prompt lists the available skills; load one before doing the task it describes.",
  parameters: skillLoadParameters,
  readOnly: true,
  async execute(args, ctx) {
    // Only the named skill is read: a workspace may hold thousands.
    const root = await workspaceRoot(ctx.workspace);
    const skill = skillNameProblem(args.skill_name) ? null : await readSkillNamed(root, args.skill_name, (abs) => ctx.paths.open(abs, "r"));
    if (skill && "problem" in skill) throw new ToolError("failed", `Skill ${args.skill_name} cannot be loaded: ${skill.problem}.`);
    if (!skill) {
      const available = (await skillFolderNames(root)).filter((name) => !skillNameProblem(name));
      throw new ToolError(
        "not_found",
        `Unknown skill ${JSON.stringify(args.skill_name)}. ` +
          (available.length ? `Available skills: ${available.join(", ")}.` : `There are no skills in ${SKILL_DIR}/ yet.`),
      );
    }
    const { files, more } = await otherFiles(ctx, skill.name);
    const result = {
      name: skill.name,
      version: skill.version,
      description: skill.description,
      folder: `${SKILL_DIR}/${skill.name}`,
      files: more ? [...files, "… (more files not listed)"] : files,
      content: skill.content,
    };
    return { content: JSON.stringify(result, null, 2), details: { name: skill.name, version: skill.version } };
  },
});

/** The skill's files but SKILL.md, listed through its folder's checked descriptor: a folder swapped for a link since SKILL.md was read is refused. */
async function otherFiles(ctx: ToolContext, name: string): Promise<{ files: string[]; more: boolean }> {
  // Resolved first: the walk names entries by real path (what the hidden-path check compares), `.skill` may be a link.
  const dir = await ctx.paths.openDir((await ctx.paths.resolve(`${SKILL_DIR}/${name}`)).abs);
  try {
    return await skillFiles(dir, await ctx.paths.hiddenFilter());
  } finally {
    dir.close();
  }
}
