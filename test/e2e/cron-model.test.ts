// A cron task's own `model` (create_cron_task / update_cron_task {model}): its runs use that chat model,
// the conversation keeps its own, and a change applies from the next run. Two chat models on the same
// fake; the model name in each request tells them apart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(861, "CronModel");
let e2e: E2E;

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  // A run takes 1.2 s of the 2 s between runs: the change often comes during one (which keeps its model; its
  // worker restarts after it), else between runs (the idle worker restarts at once).
  if (ask.includes("[Scheduled task 'modelled'")) return { delayMs: 1200, text: `cron ran modelled on ${String(req.body.model)}` };
  const every = /schedule (\S+) every 2 s on (\S+)/.exec(ask);
  if (every) {
    if (afterTool(req)) return { text: `scheduled ${every[1]}` };
    const fields = { cron_second: "*/2", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*" };
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
    // Runs every 2 s: below the host's once-a-minute minimum (CRON_LIMITS), lowered for this test.
    e2e.start({ STARLING_TEST_CRON_MIN_INTERVAL_SECONDS: "1" });
  });
  afterAll(() => e2e?.close());

  it("runs on the task's model; update_cron_task {model} applies from the next run; the chat keeps its model", async () => {
    // Two chat models: the first message asks which one the conversation uses.
    e2e.send(chat, "hello");
    const picker = await e2e.waitText(chat.id, /Which model/);
    e2e.telegram.pressButton(chat, picker.messageId, "model:main");
    await e2e.waitText(chat.id, /^ok$/);

    expect(await e2e.ask(chat, "schedule modelled every 2 s on cheap", { timeoutMs: 40_000 })).toBe("scheduled modelled");
    await e2e.waitText(chat.id, /cron ran modelled on cheap-model/, 30_000);
    e2e.telegram.sendCommand(chat, "/cron");
    const listing = await e2e.waitText(chat.id, /^Scheduled tasks:/);
    expect(listing.text).toMatch(/'modelled': \*\/2 \* \* \* \* \* \(.+\), on cheap, next /);
    // Runs keep coming every 2 s: wait for the confirmation itself, not for the next reply.
    e2e.send(chat, "switch modelled to main");
    await e2e.waitText(chat.id, /^switched modelled$/, 40_000);
    const switchedAt = e2e.replies(chat.id).length;
    await e2e.until(() => e2e.replies(chat.id).slice(switchedAt).some((m) => (m.text ?? "").includes("cron ran modelled on fake-model")), "a run on the new model", 30_000);
    const foreground = e2e.model.requests.filter((r) => !lastUserText(r).includes("[Scheduled task"));
    expect(new Set(foreground.map((r) => r.body.model))).toEqual(new Set(["fake-model"]));
  }, 90_000);
});
