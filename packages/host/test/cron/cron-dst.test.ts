// Daylight-saving days of a cron schedule (ARCHITECTURE §9 "Cron"), through the runner with a test clock
// ticking every minute over the night: a task at a local time the clocks skip fires once, at the first
// valid time after (the jump's end), and a local time that happens twice fires once, at the first.
// The zone is the task's own (`timezone`), whatever the host's is.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConversationService } from "../../src/conversations/conversation-service.js";
import { handleCoordinate } from "../../src/conversations/coordinate.js";
import { openCoordinateEnv, type CoordinateEnv } from "../conversations/coordinate-env.js";
import { CronRunner } from "../../src/cron/cron-runner.js";
import { CronKeys, type StoredCronTask } from "../../src/cron/cron-store.js";
import { nextRun } from "../../src/cron/schedule.js";
import { HostKeys, type HostStore } from "../../src/state/host-store.js";
import type { ConversationRecord } from "../../src/state/records.js";

let env: CoordinateEnv;
let store: HostStore;
let service: ConversationService;
let conversation: ConversationRecord;
let clock = new Date();

beforeEach(async () => {
  env = await openCoordinateEnv("starling-cron-dst-");
  ({ store, service, conversation } = env);
});
afterEach(() => env.close());

const local = (at: string, timeZone: string) =>
  new Date(at).toLocaleString("sv-SE", { timeZone, hour12: false }).replace(" ", "T");

/** A task at `hour:minute` every day in `timezone`, its first slot the first after `from`. */
async function dailyTask(hour: string, minute: string, timezone: string, from: Date): Promise<StoredCronTask> {
  const r = await handleCoordinate(service, conversation.foreground.sessionId, {
    action: "create_cron_task",
    payload: { name: "nightly", description: "dst", task: "run", cron_second: "0", cron_minute: minute, cron_hour: hour, cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone },
    turnId: 1,
    callId: "call_1",
  });
  if (!r.ok) throw new Error(r.error);
  const task = store.get<StoredCronTask>(CronKeys.task((r.result as { task: { id: string } }).task.id))!;
  const placed = { ...task, next_run_at: nextRun(task.schedule, timezone, from)!.toISOString() };
  await store.commit(null, (tx) => tx.put(CronKeys.task(task.id), placed));
  return placed;
}

/** Ticks the runner every minute from `from` to `to`; each firing is taken off the queue at once (its run done). */
async function runNight(task: StoredCronTask, from: string, to: string): Promise<string[]> {
  const runner = new CronRunner(service, () => clock);
  const fired: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 60_000) {
    clock = new Date(t + 250);
    await runner.tick();
    const items = store.inboundOf(task.sessionId);
    if (items.length) {
      fired.push(...items.map((i) => `${i.messageId.split(":").slice(2).join(":")} fired ${clock.toISOString()}`));
      await store.commit(null, (tx) => items.forEach((i) => tx.del(HostKeys.inbound(i.seq))));
    }
  }
  return fired;
}

describe.each(["UTC", "Asia/Tokyo", "America/New_York"])("cron on daylight-saving days (host zone %s)", (hostZone) => {
  let savedTz: string | undefined;
  beforeEach(() => {
    savedTz = process.env.TZ;
    process.env.TZ = hostZone;
  });
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it("spring forward: a task at 02:30 Europe/Berlin fires once on the night 02:00 jumps to 03:00, at 03:00, and at 02:30 the nights around it", async () => {
    const zone = "Europe/Berlin";
    const task = await dailyTask("2", "30", zone, new Date("2026-03-28T00:00:00Z"));
    const fired = await runNight(task, "2026-03-28T00:00:00Z", "2026-03-30T03:00:00Z");
    expect(fired).toEqual([
      "2026-03-28T01:30:00.000Z fired 2026-03-28T01:30:00.250Z",
      "2026-03-29T01:00:00.000Z fired 2026-03-29T01:00:00.250Z",
      "2026-03-30T00:30:00.000Z fired 2026-03-30T00:30:00.250Z",
    ]);
    expect(local("2026-03-29T01:00:00Z", zone)).toBe("2026-03-29T03:00:00");
    expect(store.get<StoredCronTask>(CronKeys.task(task.id))?.next_run_at).toBe("2026-03-31T00:30:00.000Z");
  });

  it("fall back: a task at 01:30 America/New_York fires once on the night 01:30 happens twice, at the first", async () => {
    const zone = "America/New_York";
    const task = await dailyTask("1", "30", zone, new Date("2026-10-31T00:00:00Z"));
    const fired = await runNight(task, "2026-10-31T00:00:00Z", "2026-11-02T12:00:00Z");
    expect(fired).toEqual([
      "2026-10-31T05:30:00.000Z fired 2026-10-31T05:30:00.250Z",
      "2026-11-01T05:30:00.000Z fired 2026-11-01T05:30:00.250Z",
      "2026-11-02T06:30:00.000Z fired 2026-11-02T06:30:00.250Z",
    ]);
    // 06:30Z on 1 November is 01:30 again (EST): no second firing.
    expect(local("2026-11-01T06:30:00Z", zone)).toBe("2026-11-01T01:30:00");
  });

  it("fall back, a task created in the repeated hour after that night's first 01:30: the night counts as run, the next firing is the next night's", async () => {
    const zone = "America/New_York";
    // 06:10Z is 01:10 EST, the second time 01:10 comes that night; 01:30 EDT (05:30Z) is past.
    const task = await dailyTask("1", "30", zone, new Date("2026-11-01T06:10:00Z"));
    const fired = await runNight(task, "2026-11-01T06:10:00Z", "2026-11-02T12:00:00Z");
    expect(fired).toEqual(["2026-11-02T06:30:00.000Z fired 2026-11-02T06:30:00.250Z"]);
  });
});
