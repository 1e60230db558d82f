import { describe, expect, it } from "vitest";
import { sendableRequest } from "../../src/providers/tool-text.js";
import { createModelConfig, createRequest, LS_TOOL, message, userText } from "./helpers.js";

const call = { type: "tool_call" as const, id: "c1", name: "ls", arguments: '{"path":"."}' };
const result = { type: "tool_result" as const, callId: "c1", name: "ls", content: "a.txt", isError: false };
const thinking = { type: "reasoning" as const, format: "claude_thinking" as const, encryptedContent: "sig", summary: ["hm"] };
const history = () => [userText("what is here?"), message("assistant", [thinking, call]), message("tool", [result]), message("assistant", [{ type: "text", text: "One file." }])];

describe("sendableRequest: tool history in a request without tools", () => {
  it("gives a model served by Anthropic the calls and results as text, no reasoning, and keeps untouched messages as they are", () => {
    const claude = createModelConfig("http://127.0.0.1:1/v1/messages", { provider_type: "claude_code", model_name: "claude-sonnet-4-5" });
    const messages = history();
    const sent = sendableRequest(claude, createRequest(messages));
    expect(sent.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", [{ type: "text", text: "what is here?" }]],
      ["assistant", [{ type: "text", text: '[tool call ls {"path":"."}]' }]],
      ["user", [{ type: "text", text: "[tool result of ls]\na.txt" }]],
      ["assistant", [{ type: "text", text: "One file." }]],
    ]);
    // The same objects: the wire mappings' per-message JSON caches keep serving them.
    expect(sent.messages[0]).toBe(messages[0]);
    expect(sent.messages[3]).toBe(messages[3]);
  });

  it("leaves a request with tools, and any request to a model not served by Anthropic, as it is", () => {
    const claude = createModelConfig("http://127.0.0.1:1/v1/chat/completions", { model_name: "anthropic/claude-sonnet-4.5" });
    const withTools = createRequest(history(), { tools: [LS_TOOL] });
    expect(sendableRequest(claude, withTools)).toBe(withTools);
    const other = createRequest(history());
    expect(sendableRequest(createModelConfig("http://127.0.0.1:1/v1/chat/completions", { model_name: "openai/gpt-5" }), other)).toBe(other);
  });
});
