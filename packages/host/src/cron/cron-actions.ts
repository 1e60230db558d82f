import { CRON_LIMITS, CRON_SCHEDULE_FIELDS, type CreateCronTask, type UpdateCronTask } from "@starling/protocol";
import { stageSubagentsStop } from "../agents/agent-control.js";
import type { ConversationService } from "../conversations/conversation-service.js";
import { ActionError, type ActionContext, type ActionHandlers } from "../conversations/host-action.js";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import { cronNow } from "./cron-clock.js";
import { checkInterval, checkSchedule, hostTimezone, nextRun, ScheduleError, type ScheduleFields } from "./schedule.js";
import { CronKeys, conversationTasks, nextBackgroundSessionId, publicTask, type StoredCronTask } from "./cron-store.js";

/** Splits a stored schedule back into its named fields. */
export function fieldsOf(schedule: string): ScheduleFields {
  const parts = schedule.split(" ");
  const fields = Object.fromEntries(CRON_SCHEDULE_FIELDS.map((f, i) => [f, parts[i]!])) as ScheduleFields;
  if (parts[6] !== undefined) fields.cron_year = parts[6];
  return fields;
}

/** The schedule checked field by field and, when it is new (`interval`), for its smallest gap (CRON_LIMITS). */
function validated(fields: ScheduleFields, timezone: string, interval: boolean, now: Date): string {
  try {
    const schedule = checkSchedule(fields, timezone, now);
    if (interval) checkInterval(schedule, timezone, now);
    return schedule;
  } catch (err) {
    if (err instanceof ScheduleError) throw new ActionError(err.message);
    throw err;
  }
}

function checkModel(ctx: ActionContext, model: string | undefined): void {
  if (model !== undefined && !ctx.service.settings.chatModels[model]) {
    throw new ActionError(`model: "${model}" is not a chat model of this host (available: ${ctx.service.modelAliases.join(", ")}).`);
  }
}

function ownTask(ctx: ActionContext, id: string): StoredCronTask | undefined {
  return conversationTasks(ctx.service.store, ctx.conversation.id).find((t) => t.id === id);
}

function save(tx: HostTransaction, task: StoredCronTask): void {
  tx.put(CronKeys.task(task.id), task);
  tx.put(CronKeys.sessionLabel(task.sessionId), `⏰ ${task.name}`);
}

function create(payload: CreateCronTask, tx: HostTransaction, ctx: ActionContext): StoredCronTask {
  const count = conversationTasks(ctx.service.store, ctx.conversation.id).length;
  if (count >= CRON_LIMITS.maxTasksPerConversation) {
    throw new ActionError(
      `this conversation already has ${count} cron tasks, the most it may have (${CRON_LIMITS.maxTasksPerConversation}); ` +
        `remove one with remove_cron_task (list_cron_tasks shows them) or change one with update_cron_task.`,
    );
  }
  const timezone = payload.timezone ?? hostTimezone();
  const now = cronNow();
  const schedule = validated(payload, timezone, true, now);
  checkModel(ctx, payload.model);
  const task: StoredCronTask = {
    id: `cron_${String(tx.next("cron")).padStart(4, "0")}`,
    conversationId: ctx.conversation.id,
    name: payload.name,
    description: payload.description,
    schedule,
    timezone,
    task: payload.task,
    ...(payload.model ? { model: payload.model } : {}),
    enabled: payload.enabled ?? true,
    next_run_at: nextRun(schedule, timezone, now)?.toISOString() ?? null,
    last_run_at: null,
    created_at: now.toISOString(),
    sessionId: nextBackgroundSessionId(tx, ctx.conversation.id),
  };
  save(tx, task);
  return task;
}

function update(payload: UpdateCronTask, tx: HostTransaction, ctx: ActionContext): { task: StoredCronTask; stopped: string[] } {
  const current = ownTask(ctx, payload.id);
  if (!current) throw new ActionError(`id: no cron task ${payload.id} in this conversation (list_cron_tasks shows the ids).`);
  const given = CRON_SCHEDULE_FIELDS.filter((f) => payload[f] !== undefined);
  if (given.length && given.length < CRON_SCHEDULE_FIELDS.length) {
    const missing = CRON_SCHEDULE_FIELDS.filter((f) => payload[f] === undefined);
    throw new ActionError(`cron schedule updates must include all required named fields together; missing: ${missing.join(", ")}.`);
  }
  const fields: ScheduleFields = given.length ? (payload as ScheduleFields) : fieldsOf(current.schedule);
  if (payload.cron_year !== undefined) fields.cron_year = payload.cron_year;
  const timezone = payload.timezone ?? current.timezone;
  // A stored schedule that fires more often than the limit (from before it, or imported) is kept unless changed.
  const now = cronNow();
  const schedule = validated(fields, timezone, given.length > 0 || payload.cron_year !== undefined || payload.timezone !== undefined, now);
  checkModel(ctx, payload.model);
  const task: StoredCronTask = {
    ...current,
    ...(payload.name ? { name: payload.name } : {}),
    ...(payload.description ? { description: payload.description } : {}),
    ...(payload.task ? { task: payload.task } : {}),
    ...(payload.model ? { model: payload.model } : {}),
    ...(payload.enabled !== undefined ? { enabled: payload.enabled } : {}),
    schedule,
    timezone,
    next_run_at: nextRun(schedule, timezone, now)?.toISOString() ?? null,
  };
  save(tx, task);
  // A task's runs take its model when their worker starts (host.ts): its worker restarts once it rests.
  if (payload.model !== undefined && payload.model !== current.model) tx.afterCommit(() => ctx.service.supervisor.restartWhenResting(task.sessionId));
  return { task, stopped: payload.enabled === false ? stopRunSubagents(ctx.service, tx, task, "disabled") : [] };
}

/**
 * The subagents the task's runs started that still run, stopped in the batch that disables or removes it.
 * A run's subagents outlive the run so that the next run can join them (ARCHITECTURE §9 "Outcome"); with
 * no next run they would finish for nobody, spending tokens and acting for a task nobody wants any more.
 */
function stopRunSubagents(service: ConversationService, tx: HostTransaction, task: StoredCronTask, change: "disabled" | "removed"): string[] {
  const why = `stopped: cron task '${task.name}' (${task.id}) that started it was ${change}`;
  return stageSubagentsStop(service, tx, task.conversationId, task.sessionId, why).map((a) => a.agent_id);
}

/**
 * Firings of the task admitted but not yet handed off to its session (inbound items `cron:<id>:<slot>`).
 * One already handed off (the worker has it) is not among them.
 */
function admittedFirings(store: HostStore, task: StoredCronTask): number[] {
  return store
    .inboundOf(task.sessionId)
    .filter((item) => item.messageId.startsWith(`cron:${task.id}:`))
    .map((item) => item.seq);
}

/**
 * Enables, disables or removes a task of the conversation (/cron buttons, remove_cron_task): the task
 * after the change (null when it is gone) and the ids of the subagents stopped with it. A removal drops
 * the task's firings admitted but not yet handed off, and a removal or disabling stops the subagents
 * its runs left running, in the same batch.
 */
export function changeTask(
  tx: HostTransaction,
  task: StoredCronTask,
  change: "enable" | "disable" | "remove",
  service: ConversationService,
): { task: StoredCronTask | null; stopped: string[] } {
  if (change === "remove") {
    tx.del(CronKeys.task(task.id));
    for (const seq of admittedFirings(service.store, task)) tx.del(HostKeys.inbound(seq));
    return { task: null, stopped: stopRunSubagents(service, tx, task, "removed") };
  }
  const enabled = change === "enable";
  const next = enabled ? (nextRun(task.schedule, task.timezone, cronNow())?.toISOString() ?? null) : task.next_run_at;
  const changed = { ...task, enabled, next_run_at: next };
  tx.put(CronKeys.task(task.id), changed);
  return { task: changed, stopped: enabled ? [] : stopRunSubagents(service, tx, task, "disabled") };
}

/** The cron actions (reference §3.11, host §4.8), scoped to the calling conversation. */
export const cronHandlers: ActionHandlers = {
  list_cron_tasks: {
    readOnly: true,
    apply: (_payload, _tx, ctx) => ({ tasks: conversationTasks(ctx.service.store, ctx.conversation.id).map(publicTask) }),
  },
  get_cron_task: {
    readOnly: true,
    apply: (payload, _tx, ctx) => {
      const task = ownTask(ctx, payload.id);
      return { task: task ? publicTask(task) : null };
    },
  },
  create_cron_task: { apply: (payload, tx, ctx) => ({ created: true, task: publicTask(create(payload, tx, ctx)) }) },
  update_cron_task: {
    apply: (payload, tx, ctx) => {
      const { task, stopped } = update(payload, tx, ctx);
      return { updated: true, task: publicTask(task), stopped_subagents: stopped };
    },
  },
  remove_cron_task: {
    apply: (payload, tx, ctx) => {
      const task = ownTask(ctx, payload.id);
      const stopped = task ? changeTask(tx, task, "remove", ctx.service).stopped : [];
      return { removed: task ? publicTask(task) : null, stopped_subagents: stopped };
    },
  },
};
