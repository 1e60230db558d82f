// Provider nemesis as the user sees it (issue #7): the model streams part of an answer and then goes
// silent, on every attempt. The chat gets a failure that names the problem and offers /continue; after
// /continue the answer arrives once, and no reply ever carries the partial text of the failed attempts.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { sseChunk, type ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { markersIn } from "./history.js";

const chat = privateChat(8801, "Stall");
const stall: ScriptedReply = { raw: { steps: [sseChunk({ role: "assistant", content: "" }), sseChunk({ content: "PARTIAL words " })], then: "stall" } };
/** Markers whose turns stall on every attempt until the user sends /continue. */
const stalling = new Set(["m:p1-1"]);
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: (req) => {
      const messages = (req.body.messages ?? []) as { role: string }[];
      const lastUser = JSON.stringify(messages.filter((m) => m.role === "user").at(-1) ?? {});
      const marker = markersIn(lastUser).at(-1) ?? "nothing";
      if (stalling.has(marker)) return stall;
      return { text: `Answer to ${marker}.` };
    },
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      extraModels: {
        main: {
          provider_type: "open_router_completion",
          model_name: "fake-model",
          url: modelUrl,
          api_key_env: "FAKE_MODEL_KEY",
          capabilities: ["chat"],
          conn_timeout: 10,
          stream_idle_timeout: 0.5,
          retry_mode: { random_interval: { max_interval_secs: 0.05, max_retries: 1 } },
        },
      },
    }),
  });
});

afterAll(async () => {
  await e2e?.close();
});

it("a stream that stalls on every attempt: a failure naming the stall with /continue offered, then one answer, never the partial text", async () => {
  const before = e2e.replies(chat.id).length;
  e2e.send(chat, "tell me [m:p1-1]");
  const failure = await e2e.waitText(chat.id, /\/continue/, 40_000);
  expect(failure.text).toMatch(/The turn failed \(timeout\): the model sent no data for 0\.5 s/);
  expect(e2e.model.requests.length, "one attempt plus the configured retry").toBe(2);

  stalling.delete("m:p1-1");
  e2e.send(chat, "/continue");
  await e2e.waitText(chat.id, /Answer to m:p1-1\b/, 40_000);
  // A later message is answered after it, so any late copy of the first answer would be in by now.
  expect(await e2e.ask(chat, "and now? [m:p1-2]", { timeoutMs: 40_000 })).toContain("m:p1-2");
  const texts = e2e.replies(chat.id).slice(before).map((m) => m.text ?? "");
  expect(texts.filter((t) => t.includes("Answer to m:p1-1")), JSON.stringify(texts)).toHaveLength(1);
  expect(texts.some((t) => t.includes("PARTIAL")), JSON.stringify(texts)).toBe(false);
}, 120_000);
