// A cron run's subagents outlive the run on purpose (the next run can join them, agents-cron.test.ts), but
// once the task is disabled or removed no run will read them: they are stopped with it (their kills
// recorded in the same batch), their shell commands end, and the reply says which were stopped.
import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { CronClock, nextMinute } from "./cron-clock.js";
import { afterTool, lastToolResult, lastUserText, processAlive, requestText, type E2E, useE2E } from "./fixture.js";

/** Each task's subagent runs a sleep of its own length, to be found among the host's processes. */
const SLEEPS: Record<string, string> = { watcher: "311.71", keeper: "311.72" };

/** Pids of the `sleep <seconds>` commands running now. */
function sleeps(seconds: string): number[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim() === `sleep ${seconds}`;
    } catch {
      return false;
    }
  }).map(Number);
}

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) {
    const name = Object.keys(SLEEPS).find((n) => ask.includes(`work for ${n}`))!;
    return { toolCalls: [{ name: "shell", arguments: { command: `sleep ${SLEEPS[name]}`, wait_ms: 300_000 } }] };
  }
  const run = /\[Scheduled task '(watcher|keeper)'/.exec(ask)?.[1];
  if (run) {
    if (afterTool(req)) return { text: `run left ${String(lastToolResult(req).agent_id)} running` };
    return { toolCalls: [{ name: "subagent_start", arguments: { description: `work for ${run}` } }] };
  }
  const schedule = /schedule (watcher|keeper)/.exec(ask)?.[1];
  if (schedule) {
    if (afterTool(req)) return { text: "scheduled" };
    // Once a minute: one run each time the test steps the cron clock to the next minute.
    const fields = { cron_second: "0", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone: "UTC" };
    return { toolCalls: [{ name: "create_cron_task", arguments: { name: schedule, description: "test task", task: "work", ...fields } }] };
  }
  if (ask.includes("disable watcher")) {
    if (afterTool(req)) return { text: `watcher disabled: ${String(lastToolResult(req).text)}` };
    const id = /Created (cron_\d{4}) \\"watcher\\"/.exec(requestText(req))![1]!;
    return { toolCalls: [{ name: "update_cron_task", arguments: { id, enabled: false } }] };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chat = privateChat(1502, "Cron stop");
const crashChat = privateChat(1503, "Cron stop crash");
useE2E({ responder: respond, config: { adminUserIds: [chat.id, crashChat.id] } }, (value) => (e2e = value));
/** Cron's time on every host of the file: a run comes when the test steps it to the next minute, not a few seconds later. */
let clock: CronClock;
beforeAll(() => void (clock = new CronClock(e2e.dir)));
const toNextMinute = () => clock.set(nextMinute(clock.now()));

describe("subagents of a cron task that is disabled or removed", () => {
  it("are stopped with it: their commands end, the kill is recorded and the reply names them", async () => {
    e2e.start(clock.env);
    expect(await e2e.ask(chat, "schedule watcher", { timeoutMs: 40_000 })).toBe("scheduled");
    expect(await e2e.ask(chat, "schedule keeper", { timeoutMs: 40_000 })).toBe("scheduled");
    toNextMinute();
    const left = async (name: string) => /run left (subagent_\d{4}) running/.exec((await e2e.waitText(chat.id, new RegExp(`⏰ ${name}\\n\\nrun left`), 30_000)).text!)![1]!;
    const watcherAgent = await left("watcher");
    const keeperAgent = await left("keeper");
    await e2e.until(() => sleeps(SLEEPS.watcher!).length && sleeps(SLEEPS.keeper!).length, "both subagents' commands running", 20_000);

    // The model disables a task: the tool result names the subagent stopped; its command ends, the other's goes on.
    const disabled = await e2e.ask(chat, "disable watcher", { timeoutMs: 30_000 });
    let since = Date.now();
    await e2e.until(() => sleeps(SLEEPS.watcher!).length === 0, "the disabled task's subagent's command to end", 10_000);
    console.log(`disabled: the subagent's command ended ${Date.now() - since} ms after the answer`);
    expect(disabled).toContain(`Stopped 1 subagent its runs had started and that still ran (${watcherAgent})`);
    expect(sleeps(SLEEPS.keeper!).length).toBeGreaterThan(0);

    // The user removes the other one with the /cron button: the reply says what was stopped.
    e2e.telegram.sendCommand(chat, "/cron");
    const listing = await e2e.waitText(chat.id, /^Scheduled tasks:/);
    const id = /cron:remove:(cron_\d{4})"[^\]]*Remove keeper|Remove keeper","callback_data":"cron:remove:(cron_\d{4})/.exec(JSON.stringify(listing.replyMarkup));
    const keeperId = id![1] ?? id![2]!;
    e2e.telegram.pressButton(chat, listing.messageId, `cron:remove:${keeperId}`);
    const removed = await e2e.waitText(chat.id, /^Removed 'keeper'/);
    expect(removed.text).toBe(`Removed 'keeper' (${keeperId}). Stopped 1 subagent its runs had started and that still ran: ${keeperAgent}.`);
    since = Date.now();
    await e2e.until(() => sleeps(SLEEPS.keeper!).length === 0, "the removed task's subagent's command to end", 10_000);
    console.log(`removed: the subagent's command ended ${Date.now() - since} ms after the reply`);

    // Recorded as killed (what subagent_join and /status read).
    e2e.telegram.sendCommand(chat, "/status");
    const status = await e2e.waitText(chat.id, /Agents:/);
    expect(status.text).toContain(`${watcherAgent} (subagent): killed`);
    expect(status.text).toContain(`${keeperAgent} (subagent): killed`);
  }, 120_000);

  it("the host is killed right after the batch that removes the task: after the restart the subagent is killed, its command gone, its turn never continued", async () => {
    // coordinate commits: 1 create_cron_task, 2 the run's subagent_start, 3 the /cron Remove.
    const host = e2e.start({ ...clock.env, STARLING_CRASH_AT: "coordinate:3" });
    expect(await e2e.ask(crashChat, "schedule keeper", { timeoutMs: 40_000 })).toBe("scheduled");
    toNextMinute();
    await e2e.waitText(crashChat.id, /⏰ keeper\n\nrun left subagent_\d{4} running/, 30_000);
    const pid = await e2e.until(() => sleeps(SLEEPS.keeper!)[0], "the subagent's command running", 20_000);
    e2e.telegram.sendCommand(crashChat, "/cron");
    const listing = await e2e.waitText(crashChat.id, /^Scheduled tasks:/);
    const id = /cron:remove:(cron_\d{4})/.exec(JSON.stringify(listing.replyMarkup))![1]!;
    e2e.telegram.pressButton(crashChat, listing.messageId, `cron:remove:${id}`);
    await e2e.killedAt(host, "coordinate:3");
    const subagentCalls = () => e2e.model.requests.filter((r) => lastUserText(r).startsWith("[Subagent task")).length;
    const before = subagentCalls();
    const starts = e2e.logRecords().filter((r) => r.msg === "supervisor started").length;

    e2e.start(clock.env);
    e2e.telegram.sendCommand(crashChat, "/status");
    await e2e.waitText(crashChat.id, /subagent_\d{4} \(subagent\): killed/, 30_000);
    await e2e.until(() => !processAlive(pid), `the subagent's sleep (pid ${pid}) is gone`, 15_000);
    // The restarted supervisor brings back only what a restart interrupted or what has waiting input: the
    // killed subagent's session is not among them, so nothing starts its worker again.
    const started = e2e.logRecords().filter((r) => r.msg === "supervisor started")[starts]!;
    expect((started.sessionIds as string[]).filter((id) => id.includes(".subagent.")), "subagent sessions brought back at the restart").toEqual([]);
    expect(subagentCalls(), "the killed subagent's turn was not continued after the restart").toBe(before);
    expect(await e2e.ask(crashChat, "/cron")).toMatch(/^No scheduled tasks/);
  }, 120_000);
});