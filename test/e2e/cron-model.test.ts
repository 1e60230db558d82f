// A cron task's own `model` (create_cron_task / update_cron_task {model}): its runs use that chat model,
// the conversation keeps its own, and a change applies from the next run: a run going when the model
// changes ends on its model, and its worker restarts after it. Two chat models on the same fake; the model
// name in each request tells them apart. Cron's time is a test clock the test steps from slot to slot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { CronClock, stepUntilFired } from "./cron-clock.js";
import { afterTool, lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(861, "CronModel");
let e2e: E2E;
let clock: CronClock;

/** While set, a run's model call answers only once it resolves (the run is going meanwhile). */
let runHeld: Promise<void> | null = null;

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const run = /\[Scheduled task 'modelled' \(cron_\d{4}\), due (\S+) /.exec(ask);
  if (run) return { ...(runHeld ? { holdUntil: runHeld } : {}), text: `cron ran modelled on ${String(req.body.model)} due ${run[1]}` };
  const every = /schedule (\S+) every minute on (\S+)/.exec(ask);
  if (every) {
    if (afterTool(req)) return { text: `scheduled ${every[1]}` };
    const fields = { cron_second: "0", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*" };
    return { toolCalls: [{ name: "create_cron_task", arguments: { name: every[1], description: "test task", task: "say which model you are", model: every[2], ...fields } }] };
  }
  const swap = /switch (\S+) to (\S+)/.exec(ask);
  if (swap) {
    if (afterTool(req)) return { text: `switched ${swap[1]}` };
    // The task's id is in the create call's result, earlier in this conversation.
    const id = /cron_\d{4}/.exec(requestText(req))![0];
    return { toolCalls: [{ name: "update_cron_task", arguments: { id, model: swap[2] } }] };
  }
  return { text: "ok" };
}

describe("a cron task's own model", () => {
  beforeAll(async () => {
    e2e = await startE2E({
      responder: respond,
      start: false,
      config: ({ modelUrl }) => ({
        adminUserIds: [chat.id],
        extraModels: { cheap: { provider_type: "open_router_completion", model_name: "cheap-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] } },
      }),
    });
    clock = new CronClock(e2e.dir);
    e2e.start(clock.env);
  });
  afterAll(() => e2e?.close());

  it("runs on the task's model; update_cron_task {model} applies from the next run; the chat keeps its model", async () => {
    // Two chat models: the first message asks which one the conversation uses.
    e2e.send(chat, "hello");
    const picker = await e2e.waitText(chat.id, /Which model/);
    e2e.telegram.pressButton(chat, picker.messageId, "model:main");
    await e2e.waitText(chat.id, /^ok$/);

    expect(await e2e.ask(chat, "schedule modelled every minute on cheap", { timeoutMs: 40_000 })).toBe("scheduled modelled");
    const first = await stepUntilFired(e2e, clock, "cron_0001");
    await e2e.waitText(chat.id, new RegExp(`cron ran modelled on cheap-model due ${first.toISOString()}`), 30_000);
    e2e.telegram.sendCommand(chat, "/cron");
    const listing = await e2e.waitText(chat.id, /^Scheduled tasks:/);
    expect(listing.text).toMatch(/'modelled': 0 \* \* \* \* \* \(.+\), on cheap, next /);

    // The model changes while a run is in its model call: that run ends on the old model.
    let release!: () => void;
    runHeld = new Promise<void>((resolve) => (release = resolve));
    const second = await stepUntilFired(e2e, clock, "cron_0001");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes(`due ${second.toISOString()}`)), "the second run's model call", 30_000);
    expect(await e2e.ask(chat, "switch modelled to main", { timeoutMs: 40_000 })).toBe("switched modelled");
    runHeld = null;
    release();
    await e2e.waitText(chat.id, new RegExp(`cron ran modelled on cheap-model due ${second.toISOString()}`), 30_000);
    // The next run takes the new model.
    const third = await stepUntilFired(e2e, clock, "cron_0001");
    await e2e.waitText(chat.id, new RegExp(`cron ran modelled on fake-model due ${third.toISOString()}`), 30_000);
    const answers = e2e.replies(chat.id).flatMap((m) => /cron ran modelled on (\S+) due (\S+)/.exec(m.text ?? "")?.slice(1).join(" ") ?? []);
    expect(answers, "each run answered once, on the model it started with").toEqual([
      `cheap-model ${first.toISOString()}`,
      `cheap-model ${second.toISOString()}`,
      `fake-model ${third.toISOString()}`,
    ]);
    const foreground = e2e.model.requests.filter((r) => !lastUserText(r).includes("[Scheduled task"));
    expect(new Set(foreground.map((r) => r.body.model))).toEqual(new Set(["fake-model"]));
  }, 90_000);
});
