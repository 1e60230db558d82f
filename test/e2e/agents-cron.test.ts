// A cron run that ends while a subagent it started still runs leaves the subagent running, unlike a
// background agent (whose subagents are stopped with it): the task's session lives on, and its next run
// sees the earlier run's subagent_start result in its history, so it can collect the answer with
// subagent_join (ARCHITECTURE §9, "Outcome").
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { CronClock, stepUntilFired } from "./cron-clock.js";
import { afterTool, lastToolResult, lastUserText, requestText, type E2E, useE2E } from "./fixture.js";

/** The file whose creation ends the subagent's work (the test releases it once the next run has begun). */
const releaseFile = () => join(e2e.dir, "release-subagent");

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) {
    if (afterTool(req)) return { text: "subagent says: collected" };
    // Works until released (the loop gives up after a minute so a failed test leaves no process behind).
    const command = `i=0; while [ ! -e '${releaseFile()}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
    return { toolCalls: [{ name: "shell", arguments: { command, wait_ms: 90_000 } }] };
  }
  if (ask.includes("[Scheduled task 'collector'")) {
    if (afterTool(req)) {
      const last = lastToolResult(req);
      if (last.status === "started") return { text: `run left ${String(last.agent_id)} running` };
      return { text: `run heard ${String(last.agent_id)} (${String(last.status)}): ${String(last.message ?? last.error)}` };
    }
    // The agent id of an earlier run's subagent, from this session's history.
    const earlier = /\\"agent_id\\":\\"(subagent_\d{4})\\"/.exec(requestText(req))?.[1];
    if (earlier) return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: earlier, timeout_seconds: 30 } }] };
    return { toolCalls: [{ name: "subagent_start", arguments: { description: "collect the numbers" } }] };
  }
  if (ask.includes("schedule the collector")) {
    if (afterTool(req)) return { text: "scheduled" };
    const fields = { cron_second: "0", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone: "UTC" };
    return { toolCalls: [{ name: "create_cron_task", arguments: { name: "collector", description: "test task", task: "collect", ...fields } }] };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chat = privateChat(1501, "Cron collector");
useE2E({ responder: respond, config: { adminUserIds: [chat.id] } }, (value) => (e2e = value));
/** Cron's time: each run comes when the test steps it to the task's next slot (once a minute). */
let clock: CronClock;
beforeAll(() => void (clock = new CronClock(e2e.dir)));

describe("subagents of a cron run", () => {
  it("a run that ends leaves its subagent running; the next run joins it and hears its answer", async () => {
    e2e.start(clock.env);
    expect(await e2e.ask(chat, "schedule the collector every minute", { timeoutMs: 40_000 })).toBe("scheduled");
    await stepUntilFired(e2e, clock, "cron_0001");
    const first = await e2e.waitText(chat.id, /run left subagent_\d{4} running/, 30_000);
    expect(first.text).toBe("⏰ collector\n\nrun left subagent_0001 running");
    const subagentDone = () => e2e.model.requests.some((r) => lastUserText(r).startsWith("[Subagent task") && afterTool(r));
    expect(subagentDone(), "the subagent still worked when the run ended").toBe(false);
    // The next run starts while the subagent still works, and its join waits for it.
    const second = await stepUntilFired(e2e, clock, "cron_0001");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes(`due ${second.toISOString()}`)), "the second run's model call", 30_000);
    expect(subagentDone(), "the subagent still worked when the next run began").toBe(false);
    writeFileSync(releaseFile(), "");
    const heard = await e2e.waitText(chat.id, /run heard/, 40_000);
    expect(heard.text).toBe("⏰ collector\n\nrun heard subagent_0001 (completed): subagent says: collected");
  }, 90_000);
});
