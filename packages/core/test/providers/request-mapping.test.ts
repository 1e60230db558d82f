import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { buildChatRequest, createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, message, signal, TEST_KEY, userText } from "./helpers.js";

const PNG_BYTES = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("chat-completions request mapping", () => {
  it("sends context summary, tool calls and tool results as the server expects (recorded body)", async () => {
    fake = await startFakeOpenAI({ apiKey: TEST_KEY, replies: [{ text: "done" }] });
    const messages = [
      message("context", [{ type: "text", text: "- user wants a report" }]),
      userText("list files"),
      message("assistant", [{ type: "tool_call", id: "call_1", name: "ls", arguments: '{"path":"."}' }]),
      message("tool", [{ type: "tool_result", callId: "call_1", name: "ls", content: "a.txt\nb.txt", isError: false }]),
    ];
    await createProvider(createModelConfig(fake.url), ENV).complete(createRequest(messages), { signal: signal() });
    expect(fake.requests[0]?.body["messages"]).toEqual([
      { role: "system", content: "You are a test." },
      { role: "user", content: "Summary of the earlier conversation:\n- user wants a report" },
      { role: "user", content: "list files" },
      { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: "ls", arguments: '{"path":"."}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "a.txt\nb.txt" },
    ]);
  });

  it("emits one tool message per result, in order", async () => {
    const body = await buildChatRequest(
      createModelConfig("http://x/v1/chat/completions"),
      createRequest([
        message("tool", [
          { type: "tool_result", callId: "a", name: "t", content: "one", isError: false },
          { type: "tool_result", callId: "b", name: "t", content: "", isError: true },
        ]),
      ], { system: " " }),
    );
    expect(body.messages).toEqual([
      { role: "tool", tool_call_id: "a", content: "one" },
      { role: "tool", tool_call_id: "b", content: "(no output)" },
    ]);
  });

  it("inlines a user image file as a data URL when the model has image_in", async () => {
    const dir = await mkdtemp(join(tmpdir(), "starling-provider-"));
    const path = join(dir, "cat.png");
    await writeFile(path, PNG_BYTES);
    const config = createModelConfig("http://x/v1/chat/completions", { capabilities: ["chat", "image_in"] });
    const body = await buildChatRequest(
      config,
      createRequest([
        message("user", [
          { type: "text", text: "what is this?" },
          { type: "file", uri: pathToFileURL(path).href, name: "cat.png", mediaType: "image/png" },
          { type: "file", uri: "data:image/gif;base64,R0lGOD", name: "x.gif" },
        ], { userName: "alice" }),
      ]),
    );
    expect(body.messages[1]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "[from alice at 2025-01-02T03:04:05Z]\nwhat is this?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG_BYTES.toString("base64")}` } },
        { type: "image_url", image_url: { url: "data:image/gif;base64,R0lGOD" } },
      ],
    });
  });

  it("describes files as text references when they cannot be sent directly", async () => {
    const file = { type: "file" as const, uri: "file:///w/report.pdf", name: "report.pdf", mediaType: "application/pdf" };
    const image = { type: "file" as const, uri: "https://x/cat.png", name: "cat.png" };
    const body = await buildChatRequest(
      createModelConfig("http://x/v1/chat/completions"),
      createRequest([message("user", [file, image]), message("assistant", [{ type: "text", text: "ok" }, image])]),
    );
    expect(body.messages[1]).toEqual({
      role: "user",
      content: [
        "[File attached as text reference]",
        "uri: file:///w/report.pdf",
        "name: report.pdf",
        "media_type: application/pdf",
        "reason: the chat-completions format takes only images as direct input",
        "[File attached as text reference]",
        "uri: https://x/cat.png",
        "name: cat.png",
        "media_type: <unknown>",
        "reason: the model does not support image input",
      ].join("\n"),
    });
    expect(body.messages[2]).toMatchObject({ role: "assistant", content: expect.stringContaining("images in assistant messages are sent as text") });
  });

  it("falls back to a text reference when an image file cannot be read", async () => {
    const config = createModelConfig("http://x/v1/chat/completions", { capabilities: ["chat", "image_in"] });
    const body = await buildChatRequest(config, createRequest([message("user", [{ type: "file", uri: "file:///nonexistent/a.png", mediaType: "image/png" }])]));
    expect(body.messages[1]?.content).toContain("file could not be read (ENOENT)");
  });

  it("adds reasoning and Anthropic cache control from the config", async () => {
    const base = { model_name: "anthropic/claude-sonnet-4.5", reasoning: { effort: "high" } };
    const five = await buildChatRequest(createModelConfig("http://x", { ...base, cache_timeout: 300 }), createRequest());
    expect(five).toMatchObject({ reasoning: { effort: "high" }, cache_control: { type: "ephemeral" } });
    expect(five.cache_control).not.toHaveProperty("ttl");
    const hour = await buildChatRequest(createModelConfig("http://x", { ...base, cache_timeout: 3600 }), createRequest());
    expect(hour.cache_control).toEqual({ type: "ephemeral", ttl: "1h" });
    const other = await buildChatRequest(createModelConfig("http://x", { model_name: "openai/gpt-4.1", cache_timeout: 300 }), createRequest());
    expect(other).not.toHaveProperty("cache_control");
  });
});
