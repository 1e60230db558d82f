// A conversation the model refuses as too long (OpenAI context_length_exceeded) through the real host: the
// worker compacts and retries, then fails the turn once as context_overflow, and the chat is told what to do
// (/new, a shorter message, a larger model) without the generic "check the model settings" line. The next
// message is answered: the conversation is not stuck.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(6161, "Long");
const tooLong: ScriptedReply = {
  status: 400,
  errorBody: {
    error: {
      message: "This model's maximum context length is 1000 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
  },
};
const respond = (req: RecordedRequest): ScriptedReply => {
  const asked = lastUserText(req);
  return asked.includes("HUGE") ? tooLong : { text: `echo: ${asked.split("\n").at(-1)}` };
};

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id] } });
});
afterAll(() => e2e?.close());

describe("a conversation too long for the model", () => {
  it("fails the turn once with what to do, and the next message is answered", async () => {
    expect(await e2e.ask(chat, "hello")).toBe("echo: hello");
    const failed = await e2e.ask(chat, `HUGE ${"x".repeat(2_000)}`);
    expect(failed).toMatch(/^⚠️ The turn failed \(context_overflow\): .*maximum context length.*\/new/s);
    expect(failed).not.toMatch(/check the model settings/);
    expect(await e2e.ask(chat, "still there?")).toBe("echo: still there?");
  });
});
