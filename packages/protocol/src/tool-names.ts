/**
 * Every tool name of the Starling catalog (ARCHITECTURE §9), including tools a given worker may not
 * offer yet. The config package checks `tools.deny` against this list (it cannot import core);
 * core's tests check that every tool it implements is listed here.
 */
export const TOOL_NAMES = [
  // files
  "file_read",
  "file_write",
  "edit",
  "apply_patch",
  "glob",
  "grep",
  "ls",
  // shell
  "shell",
  "shell_close",
  // web
  "web_fetch",
  "web_search",
  // downloads
  "file_download_start",
  "file_download_progress",
  "file_download_wait",
  "file_download_cancel",
  // media
  "image_load",
  "pdf_load",
  "audio_load",
  "image_analysis",
  "image_analysis_stop",
  "pdf_analysis",
  "pdf_analysis_stop",
  "audio_analysis",
  "audio_analysis_stop",
  "image_generation",
  "image_generation_stop",
  // skills
  "skill_load",
  "skill_create",
  "skill_update",
  "skill_delete",
  "skill_set_upstream",
  // host
  "user_tell",
  "update_plan",
  "subagent_start",
  "subagent_kill",
  "subagent_join",
  "start_background_agent",
  "terminate",
  "background_agents_list",
  "get_agent_stats",
  "list_cron_tasks",
  "get_cron_task",
  "create_cron_task",
  "update_cron_task",
  "remove_cron_task",
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** Tools of MCP servers are offered as `mcp__<server>__<tool>`; their names are only known at run time. */
export const MCP_TOOL_PREFIX = "mcp__";
/** An offered MCP tool name: `mcp__<server>__<tool>` within the model APIs' name rule (no patterns such as `*`). */
const MCP_TOOL_NAME = /^mcp__(?!_)[A-Za-z0-9_-]+__[A-Za-z0-9_-]+$/;

/** Names in `names` that are neither catalog tools nor MCP tool names (for a config warning). */
export function unknownToolNames(names: readonly string[]): string[] {
  const known = new Set<string>(TOOL_NAMES);
  return names.filter((name) => !known.has(name) && !MCP_TOOL_NAME.test(name));
}
