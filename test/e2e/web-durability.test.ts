// Web channel crash points of a limit's refusal and of a keyed conversation: the real host is killed
// (STARLING_CRASH_AT) right after the write, restarted, and the client's retry must come out right.
import { afterEach, describe, expect, it } from "vitest";
import { lastUserText, requestText } from "./fixture.js";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { openEvents, startWebE2E, type WebE2E } from "./web-fixture.js";

const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";
const echo = (req: RecordedRequest) => ({ text: `echo: ${said(req)}` });

/** Starts the host with `STARLING_CRASH_AT=point`, runs `action` (whose request dies with it), and waits for the kill. */
async function crashDuring(e2e: WebE2E, point: string, action: () => Promise<unknown>): Promise<void> {
  await e2e.start({ STARLING_CRASH_AT: point });
  await action().catch(() => undefined);
  const exit = await Promise.race([e2e.host!.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
  if (exit === "still running") throw new Error(`the host did not die at ${point}\n${e2e.logTail()}`);
}

describe("web channel: a crash right after a limit refused a message", () => {
  let e2e: WebE2E;
  afterEach(() => e2e?.close());

  it("the retried message is admitted once, not called a duplicate (admit)", async () => {
    e2e = await startWebE2E(echo, undefined, { limits: { per_chat_messages_per_minute: 1, max_queued_turns: 200 } });
    await e2e.start();
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const url = `/api/conversations/${conv}/messages`;
    await e2e.stop();
    // admit #1 is "first" (admitted), admit #2 is "second": refused by the rate limit, killed right after.
    await crashDuring(e2e, "admit:2", async () => {
      expect((await e2e.json(url, { method: "POST", json: { text: "first", message_id: "d-0" } })).status).toBe("admitted");
      await e2e.call(url, { method: "POST", json: { text: "second", message_id: "d-1" } });
    });
    await e2e.start();
    const stream = openEvents(e2e, conv);
    await stream.wait((ev) => ev.some((e) => e.kind !== "user" && e.text.includes("Not passed on") && e.text.includes("second")), "the refusal notice");
    const retry = await e2e.call(url, { method: "POST", json: { text: "second", message_id: "d-1" } });
    const body = await retry.json();
    expect({ http: retry.status, status: body.status }).toEqual({ http: 202, status: "admitted" });
    await stream.wait((ev) => ev.some((e) => e.text === "echo: second"), "the retried message's reply");
    const again = await e2e.json(url, { method: "POST", json: { text: "second", message_id: "d-1" } });
    expect(again.status).toBe("duplicate");
    stream.close();
    expect(e2e.model.requests.filter((r) => said(r) === "second")).toHaveLength(1);
    // "first" may have waited for the restart and then gone to the model with "second" in one request.
    expect(e2e.model.requests.some((r) => requestText(r).includes("first"))).toBe(true);
  }, 90_000);
});

describe("web channel: a crash while a keyed /v1 request creates its conversation", () => {
  let e2e: WebE2E;
  afterEach(() => e2e?.close());

  const ask = (key: string, content: string, model: string) =>
    e2e.call("/v1/chat/completions", { method: "POST", headers: { "idempotency-key": key }, json: { model, messages: [{ role: "user", content }] } });
  const cheap = { cheap: { provider_type: "open_router_completion", model_name: "cheap-model", api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] } };

  // With two chat models the conversation is created without one and `/model` runs after: "conversation:1"
  // dies between the two, and the retry must finish the conversation the first attempt made.
  const cases = [
    { point: "conversation", model: "main" },
    { point: "web_keyed", model: "main" },
    { point: "conversation:1", model: "cheap", extraModels: cheap },
  ];
  for (const { point, model, extraModels } of cases) {
    it(`the retry with the same Idempotency-Key gets one conversation and one answer (${point}, model ${model})`, async () => {
      e2e = await startWebE2E(echo, extraModels);
      const text = `once at ${point}`;
      await crashDuring(e2e, point, () => ask(`key-${point}`, text, model));
      await e2e.start();
      const res = await ask(`key-${point}`, text, model);
      expect(res.status).toBe(200);
      expect((await res.json()).choices[0].message.content).toBe(`echo: ${text}`);
      const { conversations } = await e2e.json("/api/conversations");
      expect(conversations.map((c: { id: string; model: string }) => [c.id, c.model])).toEqual([[res.headers.get("x-starling-conversation"), model]]);
      expect(e2e.model.requests.filter((r) => said(r) === text)).toHaveLength(1);
    }, 90_000);
  }
});
