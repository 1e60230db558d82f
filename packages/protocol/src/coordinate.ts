import { z } from "zod";
import { branchProblem, repoUrlProblem, skillNameProblem } from "./skill-md.js";
import { SessionType } from "./values.js";
import { lazyArguments, lazySchema } from "./lazy-schema.js";

/**
 * `host/coordinate` actions (ARCHITECTURE §9 "host" tools): for each action the payload a tool sends
 * and the result the host answers. Argument names follow the Stellaclaw catalog (reference §3.11).
 *
 * Extension point: a new host action is one entry in COORDINATE_ACTIONS plus one line in
 * CoordinateRequest below; the host then serves it by adding a handler (host/src/coordinate/), and
 * the worker offers its tool only when the host lists the action in `initialize.hostActions`.
 * Entries whose owner has not built them yet carry the reference's shapes; refine them freely.
 */

const text = (field: string) => z.string().trim().min(1, `${field} must not be empty`);

/**
 * Bounds on the agent's cron tasks (ARCHITECTURE §9 "Cron"), so a misbehaving model or a prompt injection
 * cannot melt the host. Checked on create_cron_task / update_cron_task only: tasks stored before (or
 * imported from Stellaclaw) that break one keep working.
 */
export const CRON_LIMITS = {
  /** Tasks per conversation; create_cron_task beyond that is refused. */
  maxTasksPerConversation: 50,
  /** The smallest gap allowed between two firings of a schedule, in seconds. */
  minIntervalSeconds: 60,
  /** How many upcoming firings the gap is checked over (the smallest gap among them counts). */
  intervalCheckFirings: 10,
  /** Characters of a task's `name`. */
  maxNameChars: 64,
  /** Characters of a task's `description` (one sentence, shown in /cron and list_cron_tasks). */
  maxDescriptionChars: 1_000,
  /** Characters of a task's `task` text (what each firing runs). */
  maxTaskChars: 16_000,
} as const;

/** A non-empty text of at most `max` characters; the refusal names the limit. */
const boundedText = (field: string, max: number) =>
  text(field).superRefine((value, ctx) => {
    if (value.length > max) ctx.addIssue({ code: "custom", message: `${field} may have at most ${max} characters (this one has ${value.length}).` });
  });

/** The six seconds-first cron fields, `cron_year`, `timezone` (reference §3.11). */
export const CRON_SCHEDULE_FIELDS = ["cron_second", "cron_minute", "cron_hour", "cron_day_of_month", "cron_month", "cron_day_of_week"] as const;
/** A rule from skill-md.ts as a zod refinement: its sentence is the issue message. */
const refuse =
  (problem: (value: string) => string | null) =>
  (value: string, ctx: z.RefinementCtx): void => {
    const why = problem(value);
    if (why) ctx.addIssue({ code: "custom", message: why });
  };
/** What a subagent or background agent is doing (host state). */
const AGENT_STATUSES = ["running", "completed", "failed", "killed"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * The shapes in the host actions' arguments (plan steps, cron tasks, skill names, agent ids): built on first
 * use, by a host tool's call or by the catalog's JSON Schema, which the worker's snapshot warm-up makes and then
 * releases (lazyArguments). Built at load they were ~150 zod schemas in every worker's heap, never parsed with
 * by a session that calls no host tool.
 */
const shapes = lazyArguments(() => {
  const PlanStep = z.object({
    step: text("step").describe("What this step does, in a few words."),
    status: z.enum(["pending", "in_progress", "completed"]).describe("pending, in_progress or completed."),
  });
  const scheduleShape = {
    cron_second: text("cron_second").describe("Seconds field, 0-59 (e.g. `0`, `*/30`)."),
    cron_minute: text("cron_minute").describe("Minutes field, 0-59."),
    cron_hour: text("cron_hour").describe("Hours field, 0-23."),
    cron_day_of_month: text("cron_day_of_month").describe("Day of month, 1-31 (`*` for every day)."),
    cron_month: text("cron_month").describe("Month, 1-12 or JAN-DEC."),
    cron_day_of_week: text("cron_day_of_week").describe("Day of week, 0-7 or SUN-SAT (0 and 7 are Sunday)."),
  };
  const optionalTaskShape = {
    cron_year: text("cron_year").optional().describe("Optional year field (e.g. `2030`); omit for every year."),
    timezone: text("timezone").optional().describe(
      "IANA time zone such as `Europe/Berlin`; default: the host's zone. Times are wall-clock times there: on a daylight-saving night a time the clocks skip (02:30 when 02:00 jumps to 03:00) runs once at the jump's end (03:00), a time that comes twice runs once, the first time.",
    ),
    enabled: z.boolean().optional().describe("false keeps the task but stops it firing (default true)."),
    model: text("model").optional().describe("Chat model alias to run the task with; default: the conversation's model."),
  };
  const CronTaskId = text("id").describe("Task id as listed by list_cron_tasks (e.g. `cron_0001`).");
  const CreateCronTask = z.object({
    name: boundedText("name", CRON_LIMITS.maxNameChars).describe(`Short name shown to the user (e.g. \`backup\`), at most ${CRON_LIMITS.maxNameChars} characters.`),
    description: boundedText("description", CRON_LIMITS.maxDescriptionChars).describe(`One sentence on what the task is for, at most ${CRON_LIMITS.maxDescriptionChars} characters.`),
    ...scheduleShape,
    task: boundedText("task", CRON_LIMITS.maxTaskChars).describe(
      `The instruction the agent runs at each firing, written as a message to itself (at most ${CRON_LIMITS.maxTaskChars} characters).`,
    ),
    ...optionalTaskShape,
  });
  const UpdateCronTask = z.object({
    id: CronTaskId,
    name: boundedText("name", CRON_LIMITS.maxNameChars).optional(),
    description: boundedText("description", CRON_LIMITS.maxDescriptionChars).optional(),
    /** Schedule fields: all six together (plus `cron_year`), or none. */
    ...z.object(scheduleShape).partial().shape,
    task: boundedText("task", CRON_LIMITS.maxTaskChars).optional(),
    ...optionalTaskShape,
  });
  const SkillName = z
    .string()
    .superRefine(refuse(skillNameProblem))
    .describe("The skill's folder name under .skill/ (letters, digits, _ and -).");
  const AgentId = text("agent_id").describe("The agent id subagent_start or start_background_agent returned (e.g. `subagent_0001`).");
  return { PlanStep, CronTaskId, CreateCronTask, UpdateCronTask, SkillName, AgentId };
});
type Shapes = ReturnType<typeof shapes>;
export type PlanStep = z.infer<Shapes["PlanStep"]>;
export type CreateCronTask = z.infer<Shapes["CreateCronTask"]>;
export type UpdateCronTask = z.infer<Shapes["UpdateCronTask"]>;

/**
 * What the host answers per action (`result.result` of host/coordinate), and the host-state shapes in
 * them. The worker parses one only when a host tool was called (core's askHost): built on first use, so
 * the worker's start-up snapshot does not hold them.
 */
const results = lazySchema(() => {
  const AgentStatus = z.enum(AGENT_STATUSES);
  /** A stored cron task (host state). Times are ISO 8601 UTC. */
  const CronTask = z.object({
    id: z.string(),
    conversationId: z.string(),
    name: z.string(),
    description: z.string(),
    /** Seconds-first fields joined by spaces (six, or seven with the year). */
    schedule: z.string(),
    timezone: z.string(),
    task: z.string(),
    model: z.string().optional(),
    enabled: z.boolean(),
    next_run_at: z.string().nullable(),
    last_run_at: z.string().nullable(),
    created_at: z.string(),
    /**
     * The last stretch of firings skipped because the task's previous run had not finished: how many,
     * the newest skipped slot, and the slot of the run that was still going (its `last_run_at`).
     */
    overlap_skips: z.object({ count: z.number(), last_at: z.string(), run_due: z.string().nullable() }).optional(),
  });
  const CronTaskSummary = CronTask.pick({ id: true, name: true, description: true, timezone: true, enabled: true, next_run_at: true, model: true, schedule: true });

  /** What skill_update did with the skill's git upstream (skill_set_upstream). A failed push is reported, not thrown. */
  /** Workspaces a skill change could not be copied into (each its conversation id and why); the others were. Absent: none. */
  const SyncFailures = z.array(z.object({ conversation: z.string(), error: z.string() })).optional();
  const UpstreamPush = z.object({
    configured: z.boolean(),
    pushed: z.boolean(),
    committed: z.boolean(),
    repo_url: z.string().nullable(),
    branch: z.string().nullable(),
    /** Why the commit or push failed (git's own message, bounded). */
    error: z.string().optional(),
  });

  const AgentStarted = z.object({ agent_id: z.string(), session_id: z.string(), status: z.literal("started"), task: z.string() });
  /** A subagent or background agent as the host keeps it (ARCHITECTURE §9). Times are ISO 8601 UTC. */
  const AgentInfo = z.object({
    agent_id: z.string(),
    session_id: z.string(),
    kind: z.enum(["subagent", "background"]),
    status: AgentStatus,
    task: z.string(),
    model: z.string(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    /** The final answer (completed) or why it failed or was killed. */
    message: z.string().optional(),
    error: z.string().optional(),
  });
  /** subagent_join: the agent's state when it finished or the wait ended (`running`: call again). */
  const AgentJoinResult = z.object({
    agent_id: z.string(),
    status: AgentStatus,
    message: z.string().optional(),
    error: z.string().optional(),
    waited_seconds: z.number().nonnegative(),
    /** Why a `running` agent has not started and what to do (its caller's turn holds the slot it waits for). */
    note: z.string().optional(),
  });
  const AgentStats = AgentInfo.extend({
    worker_running: z.boolean(),
    turn_running: z.boolean(),
    /** 1-based place among sessions waiting for a turn slot (max_concurrent_turns), or null. */
    queue_position: z.number().int().nullable(),
    elapsed_seconds: z.number().nonnegative(),
    usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }).optional(),
  });
  return {
    CronTask,
    CronTaskSummary,
    UpstreamPush,
    AgentInfo,
    AgentStats,
    user_tell: z.object({ sent: z.boolean(), attachments: z.number().int().nonnegative() }),
    update_plan: z.object({ updated: z.literal(true), steps: z.number().int() }),
    list_cron_tasks: z.object({ tasks: z.array(CronTaskSummary) }),
    get_cron_task: z.object({ task: CronTask.nullable() }),
    create_cron_task: z.object({ created: z.literal(true), task: CronTask }),
    // stopped_subagents: the still-running subagents of the task's runs, stopped because it was disabled or removed.
    update_cron_task: z.object({ updated: z.literal(true), task: CronTask, stopped_subagents: z.array(z.string()) }),
    remove_cron_task: z.object({ removed: CronTask.nullable(), stopped_subagents: z.array(z.string()) }),
    skill_create: z.object({ created: z.literal(true), skill_name: z.string(), synced_workspaces: z.number().int().nonnegative(), sync_failures: SyncFailures }),
    skill_update: z.object({
      updated: z.literal(true),
      skill_name: z.string(),
      synced_workspaces: z.number().int().nonnegative(),
      sync_failures: SyncFailures,
      upstream_push: UpstreamPush,
    }),
    skill_delete: z.object({ deleted: z.literal(true), skill_name: z.string(), synced_workspaces: z.number().int().nonnegative(), sync_failures: SyncFailures }),
    skill_set_upstream: z.object({
      configured: z.literal(true),
      skill_name: z.string(),
      repo_url: z.string(),
      branch: z.string(),
      push_on_update: z.literal(true),
    }),
    subagent_start: AgentStarted,
    subagent_kill: z.object({ killed: z.boolean(), agent_id: z.string(), status: AgentStatus }),
    subagent_join: AgentJoinResult,
    start_background_agent: AgentStarted,
    terminate: z.object({ terminated: z.literal(true) }),
    background_agents_list: z.object({ agents: z.array(AgentInfo) }),
    get_agent_stats: z.object({ agent: AgentStats }),
  };
});
type Results = ReturnType<typeof results>;
/** A stored cron task (host state). Times are ISO 8601 UTC. */
export type CronTask = z.infer<Results["CronTask"]>;
export type CronTaskSummary = z.infer<Results["CronTaskSummary"]>;
/** What skill_update did with the skill's git upstream (skill_set_upstream). A failed push is reported, not thrown. */
export type UpstreamPush = z.infer<Results["UpstreamPush"]>;
/** A subagent or background agent as the host keeps it (ARCHITECTURE §9). Times are ISO 8601 UTC. */
export type AgentInfo = z.infer<Results["AgentInfo"]>;
export type AgentStats = z.infer<Results["AgentStats"]>;

/**
 * One host action: its payload schema (the tool's arguments: `args()`, also `payload`) and its result
 * schema, both built on first use (the worker's tool catalog takes the payload's JSON Schema from a cache).
 */
function action<P extends z.ZodObject, A extends keyof Results>(build: () => P, name: A): { args: () => P; readonly payload: P; readonly result: Results[A] } {
  const args = lazyArguments(build);
  return {
    args,
    get payload() {
      return args();
    },
    get result() {
      return results()[name];
    },
  };
}

/** Every host action: payload (tool arguments) and result. */
export const COORDINATE_ACTIONS = {
  user_tell: action(
    () =>
      z.object({
        text: z.string().describe("The message for the user. Files: `<attachment>relative/path</attachment>` (inside the workspace)."),
      }),
    "user_tell",
  ),
  update_plan: action(
    () =>
      z.object({
        plan: z.array(shapes().PlanStep).min(1, "plan needs at least one step").describe("All steps, in order, each with its status."),
        explanation: z.string().optional().describe("Optional note on why the plan changed."),
      }),
    "update_plan",
  ),
  list_cron_tasks: action(() => z.object({}), "list_cron_tasks"),
  get_cron_task: action(() => z.object({ id: shapes().CronTaskId }), "get_cron_task"),
  create_cron_task: action(() => shapes().CreateCronTask, "create_cron_task"),
  update_cron_task: action(() => shapes().UpdateCronTask, "update_cron_task"),
  remove_cron_task: action(() => z.object({ id: shapes().CronTaskId }), "remove_cron_task"),
  // Skills (reference §3.10): the staged <workspace>/.skill/<name>/ is persisted to rundir/.skill/.
  skill_create: action(() => z.object({ skill_name: shapes().SkillName }), "skill_create"),
  skill_update: action(() => z.object({ skill_name: shapes().SkillName }), "skill_update"),
  skill_delete: action(() => z.object({ skill_name: shapes().SkillName }), "skill_delete"),
  skill_set_upstream: action(
    () =>
      z.object({
        skill_name: shapes().SkillName,
        repo_url: z.string().superRefine(refuse(repoUrlProblem)).describe("Git remote to push the skill to (URL or path), e.g. `git@github.com:me/skills.git`."),
        branch: z
          .string()
          .trim()
          .superRefine((b, c) => (b === "" ? undefined : refuse(branchProblem)(b, c)))
          .optional()
          .describe("Branch to push to; default `main`."),
      }),
    "skill_set_upstream",
  ),
  // Subagents and background agents (reference §3.11, host §4.7), owned by the agents work.
  subagent_start: action(
    () =>
      z.object({ description: text("description").describe("The complete task for the subagent: it sees only this text and the workspace.") }),
    "subagent_start",
  ),
  subagent_kill: action(() => z.object({ agent_id: shapes().AgentId }), "subagent_kill"),
  subagent_join: action(
    () =>
      z.object({
        agent_id: shapes().AgentId,
        timeout_seconds: z
          .number()
          .nonnegative()
          .optional()
          .describe("How long to wait for it to finish (at most 45; 0 or omitted: answer at once). Still running then: call again."),
      }),
    "subagent_join",
  ),
  start_background_agent: action(
    () =>
      z.object({
        task: text("task").describe("The complete task: the agent sees only this text and the workspace. Its final answer is sent to the user."),
        model: text("model").optional().describe("Chat model alias to run it with; default: this conversation's model."),
      }),
    "start_background_agent",
  ),
  terminate: action(() => z.object({}), "terminate"),
  background_agents_list: action(() => z.object({}), "background_agents_list"),
  get_agent_stats: action(() => z.object({ agent_id: shapes().AgentId }), "get_agent_stats"),
} as const;

export type CoordinateAction = keyof typeof COORDINATE_ACTIONS;
export const COORDINATE_ACTION_NAMES = Object.keys(COORDINATE_ACTIONS) as CoordinateAction[];
export type CoordinatePayload<A extends CoordinateAction> = z.output<(typeof COORDINATE_ACTIONS)[A]["payload"]>;
export type CoordinateActionResult<A extends CoordinateAction> = z.output<(typeof COORDINATE_ACTIONS)[A]["result"]>;

export function isCoordinateAction(name: string): name is CoordinateAction {
  return Object.hasOwn(COORDINATE_ACTIONS, name);
}

function coordinateRequest() {
  /** The ids every request carries: the host records a side effect's outcome under `callId`. */
  const ids = {
    /** The turn the calling tool runs in (null for an embedder's call outside a turn). */
    turnId: z.number().int().nullable(),
    /** The tool call id; a repeated call id gets the recorded outcome instead of acting twice. */
    callId: z.string().min(1).nullable(),
  };
  const request = <A extends CoordinateAction>(action: A) =>
    z.object({ action: z.literal(action), ...ids, payload: COORDINATE_ACTIONS[action].payload });
  return z.discriminatedUnion("action", [
    request("user_tell"),
    request("update_plan"),
    request("list_cron_tasks"),
    request("get_cron_task"),
    request("create_cron_task"),
    request("update_cron_task"),
    request("remove_cron_task"),
    request("skill_create"),
    request("skill_update"),
    request("skill_delete"),
    request("skill_set_upstream"),
    request("subagent_start"),
    request("subagent_kill"),
    request("subagent_join"),
    request("start_background_agent"),
    request("terminate"),
    request("background_agents_list"),
    request("get_agent_stats"),
  ]);
}

/**
 * A `host/coordinate` request, validated per action (the wire envelope is methods.ts CoordinateParams).
 * Only the host parses it: the pure call lets the worker's bundle leave its ~130 schemas out.
 */
export const CoordinateRequest = /* @__PURE__ */ coordinateRequest();
export type CoordinateRequest = z.infer<typeof CoordinateRequest>;
export type CoordinateRequestOf<A extends CoordinateAction> = Extract<CoordinateRequest, { action: A }>;

/**
 * Which session types get which host tools (reference §3.2): skill persistence in every session;
 * subagents no cron or background-agent tools; `terminate` only in background sessions; `start_background_agent` only in the
 * foreground. Unlike the reference, subagents get no subagent tools either: subagents nest one level
 * deep (ARCHITECTURE §9). The worker intersects this with the actions the host serves (`initialize.hostActions`).
 */
export function actionsForSessionType(type: SessionType): CoordinateAction[] {
  const agentViews: CoordinateAction[] = ["background_agents_list", "get_agent_stats"];
  const cron: CoordinateAction[] = ["list_cron_tasks", "get_cron_task", "create_cron_task", "update_cron_task", "remove_cron_task"];
  const skills: CoordinateAction[] = ["skill_create", "skill_update", "skill_delete", "skill_set_upstream"];
  const always: CoordinateAction[] = ["user_tell", "update_plan"];
  const subagents: CoordinateAction[] = ["subagent_start", "subagent_kill", "subagent_join"];
  switch (type) {
    case "foreground":
      return [...always, ...subagents, ...skills, ...cron, ...agentViews, "start_background_agent"];
    case "background":
      return [...always, ...subagents, ...skills, ...cron, ...agentViews, "terminate"];
    case "subagent":
      return [...always, ...skills];
  }
}
