// default_profile.main_model: with several chat models, a new conversation starts on the configured one (no
// "Which model" question); /model still switches.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateChat } from "../fakes/telegram-api.js";
import { startE2E, type E2E } from "./fixture.js";

const chat = privateChat(311, "Defaulted");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: (req) => ({ text: `${String(req.body.model)} answers` }),
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      extraModels: {
        alt: { provider_type: "open_router_completion", model_name: "alt-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] },
      },
      extra: { default_profile: { main_model: "alt" } },
      channel: { pace_sends: false }, // the fake has no send limits; pacing is not the subject
    }),
  });
});

afterAll(async () => {
  await e2e?.close();
});

describe("default_profile.main_model", { timeout: 60_000 }, () => {
  it("a new conversation is answered by the default model without asking which one", async () => {
    expect(await e2e.ask(chat, "hello")).toBe("alt-model answers");
    expect(e2e.replies(chat.id).some((r) => /Which model/.test(r.text ?? ""))).toBe(false);
    expect(await e2e.ask(chat, "/model main")).toMatch(/Model set to main \(fake-model\)/);
    expect(await e2e.ask(chat, "and now?")).toBe("fake-model answers");
  });
});
