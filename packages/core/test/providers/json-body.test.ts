// Request bodies assembled from cached JSON fragments (tool schemas, stored messages) carry the same
// value as the request object serialised whole, on the first turn and on every later one.
import type { ModelConfig } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { anthropicRequestBody, buildAnthropicRequest } from "../../src/providers/anthropic/request-mapping.js";
import { buildChatRequest, chatRequestBody } from "../../src/providers/chat-completions/request-mapping.js";
import { bodyBytes } from "../../src/providers/body-buffer.js";
import { codexIds, codexRequestFrame } from "../../src/providers/codex/request.js";
import { jsonBody, jsonList, jsonText, type JsonBody } from "../../src/providers/json-body.js";
import { buildResponsesRequest, responsesRequestBody } from "../../src/providers/responses/request-mapping.js";
import type { ModelRequest } from "../../src/providers/types.js";
import type { ToolSchema } from "../../src/tools/types.js";
import { createModelConfig, createRequest, message, userText } from "./helpers.js";

const formats = [
  { name: "chat-completions", object: buildChatRequest, json: chatRequestBody, config: { model_name: "anthropic/claude-x", cache_timeout: 300 } },
  { name: "responses", object: buildResponsesRequest, json: responsesRequestBody, config: { provider_type: "open_router_responses", reasoning: { effort: "low" } } },
  { name: "anthropic", object: buildAnthropicRequest, json: anthropicRequestBody, config: { provider_type: "claude_code", model_name: "claude-x", cache_timeout: 3600 } },
] as const;

/** The body as the server gets it: the bytes written into the kept buffer (released at once: nothing sends them). */
function sent(body: JsonBody): unknown {
  const bytes = bodyBytes(body);
  try {
    expect(bytes.bytes.length).toBe(body.byteLength);
    return JSON.parse(bytes.bytes.toString("utf8"));
  } finally {
    bytes.release();
  }
}

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
    expect(sent(first)).toEqual(await format.object(config, request));
    // The next turn: the same stored messages and schemas (fresh schema copies, as a catalog hands out) plus one more message.
    const next = { ...request, messages: [...request.messages, userText("one more")], tools: tools().map((t) => ({ ...t })) };
    const second = await format.json(config, next);
    expect(sent(second)).toEqual(await format.object(config, next));
  });

  it("a system prompt or tool list that changed since the last call is sent as it is now", async () => {
    const first = createRequest(history(), { system: "You are Ann's helper.", tools: tools() });
    expect(sent(await format.json(config, first))).toEqual(await format.object(config, first));
    const [shell, ls] = tools();
    const changed = { ...first, system: "You are Bob's helper.", tools: [ls!, { ...shell!, name: "run" }, { name: "web", description: "Fetches.", parameters: { type: "object" } }] };
    expect(sent(await format.json(config, changed))).toEqual(await format.object(config, changed));
    const fewer = { ...changed, system: "You are Bob's helper, now terse.", tools: [ls!] };
    expect(sent(await format.json(config, fewer))).toEqual(await format.object(config, fewer));
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

describe("codex frame from cached fragments", () => {
  const config: ModelConfig = createModelConfig("https://chatgpt.com/backend-api/codex/responses", { provider_type: "codex_subscription", model_name: "gpt-5" });
  const ids = codexIds({}, "chat.1");
  const frame = async (request: ModelRequest) => JSON.parse(await codexRequestFrame(config, request, ids, {})) as Record<string, unknown>;

  it("a system prompt or tool list that changed since the last call is sent as it is now", async () => {
    const first = createRequest(history(), { system: "You are Ann's helper.", tools: tools() });
    const before = await frame(first);
    expect(before).toMatchObject({ instructions: "You are Ann's helper.", input: (await buildResponsesRequest(config, first)).input });
    expect((before["tools"] as Array<{ name: string }>).map((t) => t.name)).toEqual(["shell", "ls"]);
    const [shell, ls] = tools();
    const changed = { ...first, messages: [...first.messages, userText("more")], system: "You are Bob's helper.", tools: [ls!, { ...shell!, name: "run" }] };
    const after = await frame(changed);
    expect(after).toMatchObject({ instructions: "You are Bob's helper.", input: (await buildResponsesRequest(config, changed)).input });
    expect((after["tools"] as Array<{ name: string }>).map((t) => t.name)).toEqual(["ls", "run"]);
  });
});

describe("jsonBody", () => {
  const list = (...items: string[]) => jsonList(items.map(jsonText));

  it("puts the fields first and keeps the head", () => {
    expect(JSON.parse(jsonBody({ a: 1, b: "x" }, [["m", list("1", "2")]]).text)).toEqual({ m: [1, 2], a: 1, b: "x" });
    expect(jsonBody({}, [["m", list()]]).text).toBe('{"m":[]}');
    expect(jsonBody({ a: 1 }, []).text).toBe('{"a":1}');
  });

  it("writes the same bytes as its text, in UTF-8, whatever the characters", () => {
    const body = jsonBody({ a: "é \u2028 🌍" }, [["m", list('"ü"', '{"x":"日本"}')], ["t", list(JSON.stringify("\ud83c"))]]);
    expect(sent(body)).toEqual({ m: ["ü", { x: "日本" }], t: ["\ud83c"], a: "é \u2028 🌍" });
    expect(body.byteLength).toBe(Buffer.byteLength(body.text));
  });
});
