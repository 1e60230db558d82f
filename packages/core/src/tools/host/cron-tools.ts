import { COORDINATE_ACTIONS, CRON_LIMITS, type CronTask, type CronTaskSummary } from "@starling/protocol";
import { defineTool, type AnyTool } from "../define-tool.js";
import { askHost } from "./ask-host.js";

const SCHEDULE_HELP =
  "The schedule is six cron fields, seconds first (cron_second cron_minute cron_hour cron_day_of_month cron_month cron_day_of_week), " +
  "plus an optional cron_year; each accepts `*`, lists `1,5`, ranges `1-5` and steps `*/10` (no shorthands such as @every). " +
  `Times are in \`timezone\` (IANA, default the host's zone). A task fires at most once a minute (${CRON_LIMITS.minIntervalSeconds} s between firings), ` +
  "and a firing that comes while the task's previous run is still going is skipped.";

function show(task: CronTask | CronTaskSummary): string {
  const state = task.enabled ? `next run ${task.next_run_at ?? "never"}` : "disabled";
  return `${task.id} "${task.name}": ${task.schedule} (${task.timezone}), ${state}`;
}

/** What a disabling or removal stopped: the subagents the task's runs had left running ("" when none). */
function stopped(ids: readonly string[]): string {
  if (!ids.length) return "";
  return ` Stopped ${ids.length === 1 ? "1 subagent" : `${ids.length} subagents`} its runs had started and that still ran (${ids.join(", ")}): their answers would reach nobody now.`;
}

/** The cron tools (reference §3.11); tasks are host state and fire in a background session. */
export function cronTools(): Record<string, AnyTool> {
  const list = defineTool({
    name: "list_cron_tasks",
    description: "List this conversation's scheduled (cron) tasks: id, name, schedule, time zone, enabled, next run.",
    parameters: COORDINATE_ACTIONS.list_cron_tasks.args,
    readOnly: true,
    async execute(args, ctx) {
      const { tasks } = await askHost(ctx, "list_cron_tasks", args);
      return { content: tasks.length ? JSON.stringify(tasks, null, 2) : "No cron tasks in this conversation.", details: { count: tasks.length } };
    },
  });
  const get = defineTool({
    name: "get_cron_task",
    description: "Show one cron task of this conversation in full (schedule, task text, last and next run).",
    parameters: COORDINATE_ACTIONS.get_cron_task.args,
    readOnly: true,
    async execute(args, ctx) {
      const { task } = await askHost(ctx, "get_cron_task", args);
      return task ? JSON.stringify(task, null, 2) : `No cron task ${args.id} in this conversation (list_cron_tasks shows the ids).`;
    },
  });
  const create = defineTool({
    name: "create_cron_task",
    description:
      "Schedule a task: at each time the schedule matches, the task text is run as a message in a background session of this conversation, " +
      `and its answer is sent to the user. At most ${CRON_LIMITS.maxTasksPerConversation} tasks per conversation; name at most ${CRON_LIMITS.maxNameChars} characters, description at most ${CRON_LIMITS.maxDescriptionChars}, ` +
      `task at most ${CRON_LIMITS.maxTaskChars}. ${SCHEDULE_HELP} Example, every day at 08:00: cron_second "0", cron_minute "0", cron_hour "8", others "*".`,
    parameters: COORDINATE_ACTIONS.create_cron_task.args,
    readOnly: true,
    async execute(args, ctx) {
      const { task } = await askHost(ctx, "create_cron_task", args);
      return { content: `Created ${show(task)}.`, details: { id: task.id } };
    },
  });
  const update = defineTool({
    name: "update_cron_task",
    description:
      `Change a cron task: any of name, description, task, timezone, enabled, model; schedule fields only all six together. ${SCHEDULE_HELP} ` +
      "Disabling a task stops the subagents its runs started that still run.",
    parameters: COORDINATE_ACTIONS.update_cron_task.args,
    readOnly: true,
    async execute(args, ctx) {
      const { task, stopped_subagents } = await askHost(ctx, "update_cron_task", args);
      return { content: `Updated ${show(task)}.${stopped(stopped_subagents)}`, details: { id: task.id } };
    },
  });
  const remove = defineTool({
    name: "remove_cron_task",
    description: "Delete a cron task of this conversation (a firing of it not yet started is dropped too, and the subagents its runs started that still run are stopped).",
    parameters: COORDINATE_ACTIONS.remove_cron_task.args,
    readOnly: true,
    async execute(args, ctx) {
      const { removed, stopped_subagents } = await askHost(ctx, "remove_cron_task", args);
      return removed ? `Removed ${show(removed)}.${stopped(stopped_subagents)}` : `No cron task ${args.id} in this conversation; nothing removed.`;
    },
  });
  return { list_cron_tasks: list, get_cron_task: get, create_cron_task: create, update_cron_task: update, remove_cron_task: remove };
}
