// Assistant text as the model writes it, through the real CLI: a fake model that streams its answer in
// pieces with pauses; the SSE client gets `event: delta` pieces (no id) before the durable final
// message, and the official `openai` client's streamed content equals the reply.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterTool, lastUserText } from "./fixture.js";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { openEvents, slowReply, startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";

const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";

/** The text a client rebuilds from delta pieces (offset 0 starts it again). */
function rebuild(pieces: { offset: number; text: string }[]): string {
  let text = "";
  for (const p of pieces) text = p.offset === 0 ? p.text : p.offset === text.length ? text + p.text : text;
  return text;
}

const STEP_ONE = "Let me look at the workspace first.";

describe("streamed assistant text", () => {
  let e2e: WebE2E;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => {
      // "[tool]": a first step that says something and runs a shell command, then the streamed answer.
      if (said(req).includes("[tool]") && !afterTool(req)) return { text: STEP_ONE, toolCalls: [{ name: "shell", arguments: { command: "sleep 0.3; echo ok" } }], chunkChars: 6 };
      return slowReply(`Streaming answer to ${said(req)}, written piece by piece.`, 6, 80);
    });
    await e2e.start();
  }, 60_000);
  afterAll(() => e2e?.close());

  it("sends deltas on the SSE stream before the final message, without ids (history holds only the durable events)", async () => {
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const sse = openEvents(e2e, conv);
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "the question", message_id: "s-1" } });
    await sse.wait((ev) => ev.some((e) => e.turnEnd), "the final message");
    const final = sse.events.find((e) => e.kind === "assistant")!;
    expect(final.text).toBe("Streaming answer to the question, written piece by piece.");
    const beforeFinal = sse.order.slice(0, sse.order.indexOf("assistant"));
    expect(beforeFinal.filter((k) => k === "delta").length).toBeGreaterThanOrEqual(3);
    expect(sse.order.slice(sse.order.indexOf("assistant")).includes("delta")).toBe(false);
    expect(rebuild(sse.deltas)).toBe(final.text);
    // Deltas carry no SSE id: only the two durable events have one, so a resume repeats nothing.
    expect(sse.ids).toEqual(sse.events.map((e) => e.id));
    expect(sse.ids.length).toBe(2);
    sse.close();
    const page = await e2e.json(`/api/conversations/${conv}/messages?after=0`);
    expect(page.messages.map((m: { kind: string }) => m.kind)).toEqual(["user", "assistant"]);
  }, 60_000);

  it("a turn of two steps: the first step's text streams, the tool runs, then the answer streams from offset 0", async () => {
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const sse = openEvents(e2e, conv);
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "[tool] check it", message_id: "t-1" } });
    await sse.wait((ev) => ev.some((e) => e.turnEnd), "the final message");
    const answer = "Streaming answer to [tool] check it, written piece by piece.";
    expect(sse.events.find((e) => e.kind === "assistant")!.text).toBe(answer);
    const steps = [...new Set(sse.deltas.map((d) => d.step))];
    expect(steps).toHaveLength(2);
    const [first, second] = steps.map((step) => sse.deltas.filter((d) => d.step === step));
    expect(rebuild(first!)).toBe(STEP_ONE);
    expect(second![0]!.offset).toBe(0);
    expect(rebuild(second!)).toBe(answer);
    // In arrival order: step 1's text, the shell tool, step 2's text, then the final message.
    let d = 0;
    let p = 0;
    const timeline = sse.order.map((kind) => (kind === "delta" ? `step${sse.deltas[d++]!.step === steps[0] ? 1 : 2}` : kind === "progress" ? `tool:${sse.progress[p++]!.toolName ?? ""}` : kind));
    const lastOfStepOne = timeline.lastIndexOf("step1");
    const shell = timeline.indexOf("tool:shell");
    expect(shell, timeline.join(" ")).toBeGreaterThan(lastOfStepOne);
    expect(timeline.indexOf("step2"), timeline.join(" ")).toBeGreaterThan(shell);
    expect(timeline.lastIndexOf("step2"), timeline.join(" ")).toBeLessThan(timeline.indexOf("assistant"));
    sse.close();
    const page = await e2e.json(`/api/conversations/${conv}/messages?after=0`);
    expect(page.messages.map((m: { kind: string }) => m.kind)).toEqual(["user", "assistant"]);
  }, 60_000);

  it("streams the answer to the openai client as it is written; the content equals the reply", async () => {
    const client = new OpenAI({ apiKey: WEB_TOKEN, baseURL: `${e2e.origin}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "main", stream: true, messages: [{ role: "user", content: "openai" }] });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
    const reply = "Streaming answer to openai, written piece by piece.";
    expect(pieces.join("")).toBe(reply);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    const plain = await client.chat.completions.create({ model: "main", messages: [{ role: "user", content: "openai" }] });
    expect(plain.choices[0]!.message.content).toBe(reply);
  }, 60_000);
});
