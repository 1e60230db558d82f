// Request bodies assembled from cached JSON fragments (tool schemas, stored messages) carry the same
// value as the request object serialised whole, on the first turn and on every later one.
import type { ModelConfig } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { anthropicRequestBody, buildAnthropicRequest } from "../../src/providers/anthropic/request-mapping.js";
import { buildChatRequest, chatRequestBody } from "../../src/providers/chat-completions/request-mapping.js";
import { jsonBody } from "../../src/providers/json-body.js";
import { buildResponsesRequest, responsesRequestBody } from "../../src/providers/responses/request-mapping.js";
import type { ModelRequest } from "../../src/providers/types.js";
import type { ToolSchema } from "../../src/tools/types.js";
import { createModelConfig, createRequest, message, userText } from "./helpers.js";

const formats = [
  { name: "chat-completions", object: buildChatRequest, json: chatRequestBody, config: { model_name: "anthropic/claude-x", cache_timeout: 300 } },
  { name: "responses", object: buildResponsesRequest, json: responsesRequestBody, config: { provider_type: "open_router_responses", reasoning: { effort: "low" } } },
  { name: "anthropic", object: buildAnthropicRequest, json: anthropicRequestBody, config: { provider_type: "claude_code", model_name: "claude-x", cache_timeout: 3600 } },
] as const;

const shellParameters = { type: "object", properties: { command: { type: "string" } }, required: ["command"] };
const tools = (): ToolSchema[] => [
  { name: "shell", description: "Runs a command.", parameters: shellParameters },
  { name: "ls", description: "Lists a folder \"quoted\" \u2028.", parameters: { type: "object", properties: {} } },
];

function history() {
  return [
    message("context", [{ type: "text", text: "- the user wants a report" }]),
    message("user", [{ type: "text", text: "list files 🌍 \n\t\"x\"" }], { userName: "Ann" }),
    message("assistant", [
      { type: "text", text: "Looking." },
      { type: "tool_call", id: "call_1", name: "ls", arguments: '{"path":"."}' },
    ]),
    message("tool", [{ type: "tool_result", callId: "call_1", name: "ls", content: "", isError: true }]),
    message("tool", [
      { type: "tool_result", callId: "call_2", name: "shell", content: "done", isError: false },
      { type: "file", uri: "file:///nowhere/report.pdf", mediaType: "application/pdf", name: "report.pdf" },
    ]),
    message("assistant", [{ type: "text", text: "Here it is." }]),
    userText("thanks"),
  ];
}

describe.each(formats)("$name body from cached fragments", (format) => {
  const config: ModelConfig = createModelConfig("http://127.0.0.1:9/v1", format.config as Partial<ModelConfig>);

  it("is the request object's value, on the first turn and again from the caches", async () => {
    const request: ModelRequest = createRequest(history(), { tools: tools() });
    const first = await format.json(config, request);
    expect(JSON.parse(first.text)).toEqual(await format.object(config, request));
    // The next turn: the same stored messages and schemas (fresh schema copies, as a catalog hands out) plus one more message.
    const next = { ...request, messages: [...request.messages, userText("one more")], tools: tools().map((t) => ({ ...t })) };
    const second = await format.json(config, next);
    expect(JSON.parse(second.text)).toEqual(await format.object(config, next));
  });

  it("without tools or system prompt", async () => {
    const request = createRequest([userText("hi")], { system: " " });
    expect(JSON.parse((await format.json(config, request)).text)).toEqual(await format.object(config, request));
  });

  it("a schema object reused under another description is serialised again, not served stale", async () => {
    const first = createRequest([userText("hi")], { tools: [{ name: "shell", description: "Old.", parameters: shellParameters }] });
    await format.json(config, first);
    const changed = createRequest([userText("hi")], { tools: [{ name: "shell", description: "New.", parameters: shellParameters }] });
    expect((await format.json(config, changed)).text).toContain("New.");
    expect((await format.json(config, changed)).text).not.toContain("Old.");
  });
});

describe("jsonBody", () => {
  it("puts the fields first and keeps the head", () => {
    expect(JSON.parse(jsonBody({ a: 1, b: "x" }, [["m", "[1,2]"]]).text)).toEqual({ m: [1, 2], a: 1, b: "x" });
    expect(jsonBody({}, [["m", "[]"]]).text).toBe('{"m":[]}');
    expect(jsonBody({ a: 1 }, []).text).toBe('{"a":1}');
  });
});
