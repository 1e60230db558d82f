// The bounds on the agent's cron tasks (CRON_LIMITS, ARCHITECTURE §9 "Cron") through handleCoordinate
// with a real store, and the runner's overlap rule with a test clock: a firing that comes while the
// task's previous run is not done is skipped at the `cron_slot` commit and counted on the task; removing
// a task drops its firing not yet handed off. The supervisor is stopped, so no worker starts: hand-off
// and rest are played by writing what they write (the inbound item's delete and the resume mark).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CRON_LIMITS, type CoordinateAction, type CoordinateResult } from "@starling/protocol";
import type { ConversationService } from "../../src/conversations/conversation-service.js";
import { handleCoordinate } from "../../src/conversations/coordinate.js";
import { openCoordinateEnv, type CoordinateEnv } from "../conversations/coordinate-env.js";
import { cronCallback, cronCommand } from "../../src/cron/cron-command.js";
import { CronRunner } from "../../src/cron/cron-runner.js";
import { CronKeys, type StoredCronTask } from "../../src/cron/cron-store.js";
import { clearResumeMark, markResume } from "../../src/sessions/recovery.js";
import { HostKeys, type HostStore } from "../../src/state/host-store.js";
import type { ConversationRecord } from "../../src/state/records.js";

let store: HostStore;
let service: ConversationService;
let conversation: ConversationRecord;
let calls = 0;
/** The runner's clock. */
let clock = new Date();

async function ask(action: CoordinateAction, payload: Record<string, unknown>): Promise<CoordinateResult> {
  return handleCoordinate(service, conversation.foreground.sessionId, { action, payload, turnId: 1, callId: `call_${++calls}` });
}
const refusal = (r: CoordinateResult) => (r.ok ? `accepted: ${JSON.stringify(r.result)}` : r.error);

const EVERY_MINUTE = { cron_second: "0", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone: "UTC" };
const taskArgs = (name: string, over: Record<string, unknown> = {}) => ({ name, description: "test task", task: `run ${name}`, ...EVERY_MINUTE, ...over });

async function create(name: string, over: Record<string, unknown> = {}): Promise<StoredCronTask> {
  const r = await ask("create_cron_task", taskArgs(name, over));
  if (!r.ok) throw new Error(r.error);
  return store.get<StoredCronTask>(CronKeys.task((r.result as { task: { id: string } }).task.id))!;
}
const stored = (id: string) => store.get<StoredCronTask>(CronKeys.task(id))!;
const firings = (task: StoredCronTask) => store.inboundOf(task.sessionId).map((i) => i.messageId);

/** Runs the runner's tick with its clock `ms` after the task's next slot. */
async function tickAtNextSlot(runner: CronRunner, id: string, ms = 100): Promise<string> {
  const due = stored(id).next_run_at!;
  clock = new Date(Date.parse(due) + ms);
  await runner.tick();
  return due;
}

/** What a hand-off writes: the item gone, the session's resume mark set (sessions/handoff.ts). */
async function handOff(task: StoredCronTask): Promise<void> {
  await store.commit("handoff", (tx) => {
    for (const item of store.inboundOf(task.sessionId)) tx.del(HostKeys.inbound(item.seq));
    markResume(store, tx, task.sessionId);
  });
}
/** What the worker found resting writes (sessions/rest-release.ts). */
const rest = (task: StoredCronTask) => store.commit(null, (tx) => clearResumeMark(tx, task.sessionId));

let env: CoordinateEnv;
beforeEach(async () => {
  env = await openCoordinateEnv("starling-cron-");
  ({ store, service, conversation } = env);
});
afterEach(() => env.close());

describe("cron task limits", () => {
  it(`at most ${CRON_LIMITS.maxTasksPerConversation} tasks per conversation; the refusal names the count and the tools`, async () => {
    for (let i = 1; i <= CRON_LIMITS.maxTasksPerConversation; i++) await create(`t${i}`);
    expect(refusal(await ask("create_cron_task", taskArgs("one-more")))).toBe(
      "this conversation already has 50 cron tasks, the most it may have (50); remove one with remove_cron_task (list_cron_tasks shows them) or change one with update_cron_task.",
    );
    // Removing one makes room again.
    expect((await ask("remove_cron_task", { id: "cron_0001" })).ok).toBe(true);
    expect((await ask("create_cron_task", taskArgs("one-more"))).ok).toBe(true);
  });

  it("a schedule firing more often than once a minute is refused on create and on a schedule update, naming the schedule and the minimum", async () => {
    expect(refusal(await ask("create_cron_task", taskArgs("fast", { cron_second: "*" })))).toMatch(/^schedule: "\* \* \* \* \* \*" fires 1 s apart .*a task may fire at most once every 60 s/);
    expect(refusal(await ask("create_cron_task", taskArgs("halves", { cron_second: "*/30" })))).toMatch(/^schedule: "\*\/30 \* \* \* \* \*" fires 30 s apart/);
    expect(refusal(await ask("create_cron_task", taskArgs("shorthand", { cron_minute: "@every 5m" })))).toMatch(/^cron_minute: "@every 5m" is not one cron field\. Give the schedule as six separate fields/);
    const task = await create("slow");
    expect(refusal(await ask("update_cron_task", { id: task.id, ...EVERY_MINUTE, cron_second: "0,1" }))).toMatch(/^schedule: "0,1 \* \* \* \* \*" fires 1 s apart/);
  });

  it(`name at most ${CRON_LIMITS.maxNameChars} characters, description at most ${CRON_LIMITS.maxDescriptionChars}, task at most ${CRON_LIMITS.maxTaskChars}; refused with the limit named`, async () => {
    expect(refusal(await ask("create_cron_task", taskArgs("n".repeat(65))))).toMatch(/name may have at most 64 characters \(this one has 65\)/);
    expect(refusal(await ask("create_cron_task", taskArgs("wordy", { description: "d".repeat(1_001) })))).toMatch(/description may have at most 1000 characters \(this one has 1001\)/);
    const described = await create("described", { description: "d".repeat(1_000) });
    expect(refusal(await ask("update_cron_task", { id: described.id, description: "e".repeat(1_001) }))).toMatch(/description may have at most 1000 characters \(this one has 1001\)/);
    expect(refusal(await ask("create_cron_task", taskArgs("big", { task: "x".repeat(16_001) })))).toMatch(/task may have at most 16000 characters \(this one has 16001\)/);
    const task = await create("n".repeat(64), { task: "x".repeat(16_000) });
    expect(refusal(await ask("update_cron_task", { id: task.id, name: "m".repeat(65) }))).toMatch(/name may have at most 64 characters/);
    expect(refusal(await ask("update_cron_task", { id: task.id, task: "y".repeat(16_001) }))).toMatch(/task may have at most 16000 characters/);
  });

  it("a stored task that breaks the bounds (from before them, or imported) keeps running and can still be changed", async () => {
    const valid = await create("legacy");
    const legacy: StoredCronTask = { ...valid, name: "L".repeat(100), task: "T".repeat(20_000), schedule: "* * * * * *" };
    await store.commit(null, (tx) => tx.put(CronKeys.task(legacy.id), legacy));
    const runner = new CronRunner(service, () => clock);
    const due = await tickAtNextSlot(runner, legacy.id);
    expect(firings(legacy)).toEqual([`cron:${legacy.id}:${new Date(due).toISOString()}`]);
    expect(JSON.stringify(store.inboundOf(legacy.sessionId)[0]!.message)).toContain("T".repeat(20_000));
    // A change that leaves the schedule and the long texts alone is not refused.
    expect((await ask("update_cron_task", { id: legacy.id, description: "still here", enabled: false })).ok).toBe(true);
    expect(stored(legacy.id)).toMatchObject({ schedule: "* * * * * *", enabled: false, name: "L".repeat(100) });
  });
});

describe("cron overlap", () => {
  it("firings while the previous run is queued or running are skipped and counted; the next one after it ran fires", async () => {
    const task = await create("hourlong");
    const runner = new CronRunner(service, () => clock);
    const first = await tickAtNextSlot(runner, task.id);
    expect(firings(task)).toEqual([`cron:${task.id}:${first}`]);

    // Still queued (not handed off): the next slot is skipped, not queued behind it.
    const second = await tickAtNextSlot(runner, task.id);
    expect(firings(task)).toHaveLength(1);
    expect(stored(task.id)).toMatchObject({ last_run_at: first, overlap_skips: { count: 1, last_at: second, run_due: first } });
    expect(Date.parse(stored(task.id).next_run_at!)).toBeGreaterThan(Date.parse(second));

    // Handed off and running (resume mark): skipped again, counted in the same stretch.
    await handOff(task);
    const third = await tickAtNextSlot(runner, task.id);
    expect(firings(task)).toEqual([]);
    expect(stored(task.id)).toMatchObject({ last_run_at: first, overlap_skips: { count: 2, last_at: third, run_due: first } });
    const listing = cronCommand(service, conversation).text;
    expect(listing).toContain(`skipped 2 firings while the run due ${first} was still going (the last due ${third})`);

    // The run ended (the worker was found resting): the next slot runs.
    await rest(task);
    const fourth = await tickAtNextSlot(runner, task.id);
    expect(firings(task)).toEqual([`cron:${task.id}:${fourth}`]);
    expect(stored(task.id)).toMatchObject({ last_run_at: fourth, overlap_skips: { count: 2, run_due: first } });

    // A new stretch behind the new run counts from one.
    const fifth = await tickAtNextSlot(runner, task.id);
    expect(stored(task.id).overlap_skips).toEqual({ count: 1, last_at: fifth, run_due: fourth });
  });

  it("removing a task drops its firing admitted but not yet handed off, in the removal's batch (tool and /cron button)", async () => {
    const runner = new CronRunner(service, () => clock);
    const byTool = await create("by-tool");
    await tickAtNextSlot(runner, byTool.id);
    expect(firings(byTool)).toHaveLength(1);
    expect((await ask("remove_cron_task", { id: byTool.id })).ok).toBe(true);
    expect(firings(byTool)).toEqual([]);

    const byButton = await create("by-button");
    await tickAtNextSlot(runner, byButton.id);
    expect(firings(byButton)).toHaveLength(1);
    expect((await cronCallback(service, conversation, `cron:remove:${byButton.id}`))?.text).toMatch(/^Removed 'by-button'/);
    expect(firings(byButton)).toEqual([]);
    expect(store.inbound()).toEqual([]);
  });
});
