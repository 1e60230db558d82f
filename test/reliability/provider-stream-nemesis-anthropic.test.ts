// Provider nemesis, the Anthropic Messages wire itself: raw SSE from the fake (garbage lines, comments,
// CRLF, `event:` without `data:` and the reverse, `ping`, unknown event types, events split across TCP
// writes in odd places, `error` events mid-stream, events after `message_stop`, a stream that ends
// cleanly without `message_stop`, tool input split oddly, stalls). At the worker over real stdio: a
// complete answer, or a clear turn failure naming the problem after bounded retries with /continue
// possible, and nothing half-recorded that a /continue would duplicate.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { userMessage } from "../conformance/harness.js";
import { startFakeAnthropic, type AnthropicReply } from "../fakes/anthropic-server.js";
import { sseText, type RawStep } from "../fakes/scripted-server.js";
import { wireEnv, type WireModel } from "../conformance/wire-env.js";
import { answers, cutAt, cutOddly, ODD_ARGUMENT_PIECES, ODD_FILE, ODD_TEXT, failsThenContinues, NO_HEADERS, raw, retryAnswers } from "./stream-faults.js";

const ev = (type: string, data: Record<string, unknown> = {}) => sseText({ event: type, data: { type, ...data } });
const start = ev("message_start", {
  message: { id: "msg_raw", type: "message", role: "assistant", content: [], model: "fake-model", stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } },
});
const textStart = ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
const textDelta = (text: string) => ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
const blockStop = (index = 0) => ev("content_block_stop", { index });
const messageDelta = (stop = "end_turn") => ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } });
const stop = ev("message_stop");
const overloaded = ev("error", { error: { type: "overloaded_error", message: "Overloaded" } });
const partial = [start, textStart, textDelta("PARTIAL ")];

const model: WireModel<AnthropicReply> = { providerType: "claude_code", startFake: () => startFakeAnthropic({ apiKey: "test-key" }) };
const env = (ctx: Parameters<typeof wireEnv>[0], replies: AnthropicReply[]) => wireEnv(ctx, model, replies);

describe.concurrent("provider nemesis: the Anthropic Messages stream", () => {
  it("ignores garbage, comments, pings, unknown events and lone event:/data: lines, and joins events split mid-field, mid-CRLF and inside a character", async (ctx) => {
    const body = Buffer.from(
      [
        start,
        ": keep-alive comment\n",
        "this line is not SSE at all\n",
        "event: ping\n\n", // an event name without data: no event
        ev("ping"),
        `data: ${JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })}\n\n`, // data without an event name
        textDelta(ODD_TEXT[0]).replace(/\n/g, "\r\n"),
        ev("content_block_future", { index: 0, delta: { type: "future_delta", text: "NOT THIS" } }), // unknown event type
        textDelta(ODD_TEXT[1]),
        blockStop(),
        messageDelta(),
        stop,
      ].join(""),
    );
    const e = await env(ctx, [raw(cutOddly(body, start.length))]);
    const w = await e.start();
    await answers(w, ODD_TEXT.join(""));
    expect(e.fake.requests, "no retry was needed").toHaveLength(1);
  });

  it("tool input split oddly (inside escapes and a \\u escape, empty fragments, a TCP cut inside a character) arrives whole and the tool runs", async (ctx) => {
    const body = Buffer.from(
      [
        start,
        ev("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_raw", name: "file_write", input: {} } }),
        ...ODD_ARGUMENT_PIECES.map((partial_json) => ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json } })),
        blockStop(),
        messageDelta("tool_use"),
        stop,
      ].join(""),
    );
    const e = await env(ctx, [raw(cutAt(body, [body.indexOf(Buffer.from("✓")) + 1])), { text: "Done." }]);
    const w = await e.start();
    await answers(w, "Done.", "write a note");
    expect(readFileSync(join(e.dir, ODD_FILE.path), "utf8")).toBe(ODD_FILE.content);
  });

  it("an overloaded_error event mid-stream is retried; the retry's answer is stored, never the partial text", async (ctx) => {
    const e = await env(ctx, [raw([...partial, overloaded]), { text: "complete answer" }]);
    const w = await e.start();
    await retryAnswers(e.fake, w, "complete answer");
  });

  for (const [name, fault, problem] of [
    ["an overloaded_error event on every attempt", raw([...partial, overloaded]), /the model reported an error: Overloaded/],
    ["a stream that ends cleanly after message_delta without message_stop", raw([...partial, blockStop(), messageDelta()]), /stream ended before the reply was complete/],
    ["a stream cut inside an event", raw([...partial, 'event: content_block_delta\ndata: {"type":"content_bl'], "cut"), /stream ended before the reply was complete|network|terminated|socket/i],
  ] as const) {
    it(`${name}: bounded retries, a failure naming the problem, then /continue answers once`, async (ctx) => {
      const e = await env(ctx, [fault, fault]);
      const w = await e.start();
      await failsThenContinues(e.fake, w, problem);
    });
  }

  it("events after message_stop (more text, an error) are ignored: the answer is complete as stopped", async (ctx) => {
    const after = [textDelta(" EXTRA"), overloaded];
    const e = await env(ctx, [raw([start, textStart, textDelta("complete answer"), blockStop(), messageDelta(), stop, ...after]), { text: "a retry's answer" }]);
    const w = await e.start();
    await answers(w, "complete answer");
    expect(e.fake.requests, "no retry").toHaveLength(1);
  });

  it("a model that stalls mid-stream, then before its headers, times out per the model's limits; /continue answers once", async (ctx) => {
    const e = await env(ctx, [raw(partial, "stall"), { hang: true }]);
    const w = await e.start({ fast: true });
    await failsThenContinues(e.fake, w, NO_HEADERS, { error: { kind: "timeout" } });
    expect(e.fake.requests.slice(0, 2).map((r) => r.aborted), "the client gave up on both stalled requests").toEqual([true, true]);
  });

  it("a stream of nothing but ping events is a stall too (it would otherwise hold the turn forever)", async (ctx) => {
    const pings: RawStep[] = [start];
    for (let i = 0; i < 600; i++) pings.push(ev("ping"), { pauseMs: 100 }); // 60 s, until the client gives up
    const e = await env(ctx, [raw(pings, "stall"), raw(pings, "stall")]);
    const w = await e.start({ fast: true });
    await w.client.enqueue(userMessage("m1", "hi"));
    const failed = await w.waitForEvent("turn_failed", undefined, 30_000);
    expect(failed).toMatchObject({ canContinue: true, error: { kind: "timeout" } });
    expect(failed.error.message).toMatch(/only keep-alive .* for 0\.5 s/);
    expect(e.fake.requests).toHaveLength(2);
  });
});
