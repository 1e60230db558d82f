import { COORDINATE_ACTIONS, type UpstreamPush } from "@starling/protocol";
import { defineTool, type AnyTool } from "../tools/define-tool.js";
import { askHost } from "../tools/host/ask-host.js";

const STAGED = "The skill is read from .skill/<skill_name>/ in your workspace (SKILL.md with frontmatter name and description, plus any other files).";

/** The workspaces a change could not reach (the others have it). */
function failuresLine(failures: ReadonlyArray<{ conversation: string; error: string }> | undefined, retry: string): string {
  if (!failures?.length) return "";
  const list = failures.map((f) => `${f.conversation} (${f.error})`).join("; ");
  return ` Not copied into ${failures.length} workspace(s): ${list}. ${retry}`;
}

function pushLine(push: UpstreamPush): string {
  if (!push.configured) return "";
  if (push.pushed) return ` ${push.committed ? "Committed and pushed" : "Nothing new to commit; pushed"} to ${push.repo_url} (${push.branch}).`;
  return ` The push to ${push.repo_url} (${push.branch}) FAILED, the skill is saved locally only: ${push.error ?? "unknown error"}`;
}

/**
 * Skill persistence (reference §3.10): the host copies a skill staged in this workspace into the
 * runtime store and into every conversation's workspace. `readOnly` as all host tools: the host acts
 * once per call id.
 */
export function skillTools(): Record<string, AnyTool> {
  const create = defineTool({
    name: "skill_create",
    description: `Save a new skill for all conversations. ${STAGED} Fails if a skill of that name is already saved (use skill_update).`,
    parameters: COORDINATE_ACTIONS.skill_create.args,
    readOnly: true,
    async execute(args, ctx) {
      const r = await askHost(ctx, "skill_create", args);
      return { content: `Saved skill ${r.skill_name}; copied to ${r.synced_workspaces} workspace(s).${failuresLine(r.sync_failures, "A later skill_update copies it again.")}`, details: r };
    },
  });
  const update = defineTool({
    name: "skill_update",
    description: `Save your changes to a skill for all conversations (and push them to its git upstream, if one is set). ${STAGED}`,
    parameters: COORDINATE_ACTIONS.skill_update.args,
    readOnly: true,
    async execute(args, ctx) {
      const r = await askHost(ctx, "skill_update", args);
      const failed = r.upstream_push.configured && !r.upstream_push.pushed;
      const content = `Updated skill ${r.skill_name}; copied to ${r.synced_workspaces} workspace(s).${failuresLine(r.sync_failures, "A later skill_update copies it again.")}`;
      return { content: `${content}${pushLine(r.upstream_push)}`, details: r, isError: failed };
    },
  });
  const remove = defineTool({
    name: "skill_delete",
    description: "Delete a saved skill from the store and from every conversation's workspace (its upstream repository is left as it is).",
    parameters: COORDINATE_ACTIONS.skill_delete.args,
    readOnly: true,
    async execute(args, ctx) {
      const r = await askHost(ctx, "skill_delete", args);
      return { content: `Deleted skill ${r.skill_name} from ${r.synced_workspaces} workspace(s).${failuresLine(r.sync_failures, "Call skill_delete again to retry them.")}`, details: r };
    },
  });
  const upstream = defineTool({
    name: "skill_set_upstream",
    description: "Give a saved skill a git remote: every later skill_update commits the skill and pushes it there.",
    parameters: COORDINATE_ACTIONS.skill_set_upstream.args,
    readOnly: true,
    async execute(args, ctx) {
      const r = await askHost(ctx, "skill_set_upstream", args);
      return { content: `Skill ${r.skill_name} will be pushed to ${r.repo_url} (${r.branch}) on each skill_update.`, details: r };
    },
  });
  return { skill_create: create, skill_update: update, skill_delete: remove, skill_set_upstream: upstream };
}
