// Several chat models: the first message asks which one (inline keyboard); a press picks it and the
// held message is answered by that model; /model switches later.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

function respond(req: RecordedRequest): ScriptedReply {
  const tag = /\[(\w+)\]/.exec(lastUserText(req))?.[1] ?? "?";
  // "[slow]" is still being answered (by the old model's worker) when /model switches.
  return { delayMs: tag === "slow" && req.body.model === "fake-model" ? 3_000 : 0, text: `${String(req.body.model)} answers: ${tag}` };
}

const chat = privateChat(301, "Picker");
let e2e: E2E;

beforeAll(async () => {
  // Both models talk to the same fake; the model name in the request tells them apart.
  e2e = await startE2E({
    responder: respond,
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      extraModels: {
        alt: {
          provider_type: "open_router_completion",
          model_name: "alt-model",
          url: modelUrl,
          api_key_env: "FAKE_MODEL_KEY",
          capabilities: ["chat"],
          retry_mode: "once",
        },
      },
    }),
  });
});

afterAll(async () => {
  await e2e?.close();
});

describe("model picker", { timeout: 60_000 }, () => {
  it("holds the first message, offers the models, and answers it with the one pressed", async () => {
    e2e.send(chat, "hello there [held]");
    const picker = await e2e.waitText(chat.id, /Which model/);
    const buttons = (picker.replyMarkup?.inline_keyboard ?? []).flat();
    expect(buttons.map((b) => [b.text, b.callback_data])).toEqual([
      ["main", "model:main"],
      ["alt", "model:alt"],
    ]);
    expect(e2e.model.requests).toHaveLength(0); // held until a model is chosen

    const update = e2e.telegram.pressButton(chat, picker.messageId, "model:alt");
    const query = e2e.telegram.updates().find((u) => u.update_id === update)!.callback_query!;
    const chosen = await e2e.waitText(chat.id, /Model set to alt/);
    expect(chosen.text).toMatch(/alt-model/);
    const answer = await e2e.waitText(chat.id, /answers: held/);
    expect(answer.text).toBe("alt-model answers: held");
    await e2e.until(() => e2e.telegram.callbackAnswers().some((a) => a.callbackQueryId === query.id), "the callback query to be answered");
    expect(e2e.model.requests.every((r) => r.body.model === "alt-model")).toBe(true);
  });

  it("/model shows the choice, /model <alias> switches, an unknown alias is refused", async () => {
    const shown = e2e.replies(chat.id).length;
    e2e.send(chat, "/model");
    const [current] = await e2e.waitReplies(chat.id, shown + 1, "the /model answer").then((all) => all.slice(shown));
    expect(current!.text).toMatch(/^Model: alt/);
    expect((current!.replyMarkup?.inline_keyboard ?? []).flat().map((b) => b.callback_data)).toEqual(["model:main", "model:alt"]);
    expect(await e2e.ask(chat, "/model nosuch")).toMatch(/Unknown model "nosuch"/);
    expect(await e2e.ask(chat, "/model main")).toMatch(/Model set to main \(fake-model\)/);
    expect(await e2e.ask(chat, "and now? [switched]")).toBe("fake-model answers: switched");
  });

  it("/model while a turn runs: that turn is still answered (on the new model), and the next message uses it", async () => {
    const before = e2e.model.requests.length;
    e2e.send(chat, "a long one [slow]");
    await e2e.until(() => e2e.model.requests.length > before, "the slow call to start");
    const shown = e2e.replies(chat.id).length;
    e2e.send(chat, "/model alt");
    await e2e.waitText(chat.id, /Model set to alt/);
    const answer = await e2e.waitText(chat.id, /answers: slow/, 30_000);
    expect(answer.text).toBe("alt-model answers: slow");
    expect(await e2e.ask(chat, "next [after]")).toBe("alt-model answers: after");
    expect(e2e.replies(chat.id).slice(shown).filter((m) => /answers: slow/.test(m.text ?? ""))).toHaveLength(1);
  });
});
