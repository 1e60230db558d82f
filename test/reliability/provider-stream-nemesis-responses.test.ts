// Provider nemesis, the OpenAI Responses wire itself: raw SSE from the fake (garbage lines, comments,
// CRLF, `event:` without `data:` and the reverse, unknown event types, events split across TCP writes
// in odd places, `response.failed` and `error` events, `response.incomplete`, events after the
// terminal one, a stream that ends cleanly without `response.completed`, function-call arguments split
// oddly, stalls). At the worker over real stdio: a complete answer, or a clear turn failure naming the
// problem after bounded retries with /continue possible, and nothing half-recorded that a /continue
// would duplicate.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startFakeResponses, type ResponsesReply } from "../fakes/responses-server.js";
import { sseText } from "../fakes/scripted-server.js";
import { wireEnv, type WireModel } from "../conformance/wire-env.js";
import { answers, cutAt, cutOddly, ODD_ARGUMENT_PIECES, ODD_FILE, ODD_TEXT, failsThenContinues, NO_HEADERS, raw, retryAnswers } from "./stream-faults.js";

const ev = (type: string, data: Record<string, unknown> = {}) => sseText({ event: type, data: { type, ...data } });
const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
const response = (status: string, output: unknown[] = [], extra: Record<string, unknown> = {}) => ({ id: "resp_raw", object: "response", status, output, usage, ...extra });
const message = (text: string) => ({ type: "message", id: "msg_0", role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] });
const created = ev("response.created", { response: response("in_progress") });
const messageAdded = ev("response.output_item.added", { output_index: 0, item: { ...message(""), status: "in_progress", content: [] } });
const textDelta = (delta: string) => ev("response.output_text.delta", { item_id: "msg_0", output_index: 0, content_index: 0, delta });
const messageDone = (text: string) => ev("response.output_item.done", { output_index: 0, item: message(text) });
/** `response.completed` without its output: the streamed items are the answer. */
const completed = ev("response.completed", { response: response("completed") });
const failed = ev("response.failed", { response: response("failed", [], { error: { code: "server_error", message: "The server had an error while processing your request." } }) });
const errorEvent = ev("error", { code: "server_error", message: "An error occurred while processing your request.", param: null });
const partial = [created, messageAdded, textDelta("PARTIAL ")];

const model: WireModel<ResponsesReply> = { providerType: "open_router_responses", startFake: () => startFakeResponses({ apiKey: "test-key" }) };
const env = (ctx: Parameters<typeof wireEnv>[0], replies: ResponsesReply[]) => wireEnv(ctx, model, replies);

describe.concurrent("provider nemesis: the OpenAI Responses stream", () => {
  it("ignores garbage, comments, unknown events and lone event:/data: lines, and joins events split mid-field, mid-CRLF and inside a character", async (ctx) => {
    const body = Buffer.from(
      [
        created,
        ev("response.in_progress", { response: response("in_progress") }),
        ": keep-alive comment\n",
        "this line is not SSE at all\n",
        "event: response.output_text.delta\n\n", // an event name without data: no event
        `data: ${JSON.stringify({ type: "response.output_item.added", output_index: 0, item: { ...message(""), status: "in_progress", content: [] } })}\n\n`, // data without an event name
        ev("response.content_part.added", { item_id: "msg_0", output_index: 0, content_index: 0, part: { type: "output_text", text: "" } }),
        textDelta(ODD_TEXT[0]).replace(/\n/g, "\r\n"),
        ev("response.future_event", { output_index: 0, delta: "NOT THIS" }), // unknown event type
        textDelta(ODD_TEXT[1]),
        ev("response.output_text.done", { item_id: "msg_0", output_index: 0, content_index: 0, text: ODD_TEXT.join("") }),
        messageDone(ODD_TEXT.join("")),
        completed,
      ].join(""),
    );
    const e = await env(ctx, [raw(cutOddly(body, created.length))]);
    const w = await e.start();
    await answers(w, ODD_TEXT.join(""));
    expect(e.fake.requests, "no retry was needed").toHaveLength(1);
  });

  it("function-call arguments split oddly (inside escapes and a \\u escape, empty deltas, a TCP cut inside a character) arrive whole and the tool runs", async (ctx) => {
    const call = { type: "function_call", id: "fc_0", call_id: "call_raw", name: "file_write", status: "in_progress", arguments: "" };
    const body = Buffer.from(
      [
        created,
        ev("response.output_item.added", { output_index: 0, item: call }),
        ...ODD_ARGUMENT_PIECES.map((delta) => ev("response.function_call_arguments.delta", { item_id: "fc_0", output_index: 0, delta })),
        ev("response.output_item.done", { output_index: 0, item: { ...call, status: "completed", arguments: undefined } }),
        completed,
      ].join(""),
    );
    const e = await env(ctx, [raw(cutAt(body, [body.indexOf(Buffer.from("✓")) + 1])), { text: "Done." }]);
    const w = await e.start();
    await answers(w, "Done.", "write a note");
    expect(readFileSync(join(e.dir, ODD_FILE.path), "utf8")).toBe(ODD_FILE.content);
  });

  for (const [name, fault] of [
    ["response.failed", failed],
    ["an error event", errorEvent],
  ] as const) {
    it(`${name} mid-stream is retried; the retry's answer is stored, never the partial text`, async (ctx) => {
      const e = await env(ctx, [raw([...partial, fault]), { text: "complete answer" }]);
      const w = await e.start();
      await retryAnswers(e.fake, w, "complete answer");
    });
  }

  for (const [name, fault, problem] of [
    ["response.failed on every attempt", raw([...partial, failed]), /the model reported an error: The server had an error/],
    ["an error event on every attempt", raw([...partial, errorEvent]), /the model reported an error: An error occurred/],
    ["a stream that ends cleanly after output_item.done without response.completed", raw([...partial, messageDone("PARTIAL ")]), /stream ended before the reply was complete/],
    ["[DONE] without response.completed", raw([...partial, "data: [DONE]\n\n"]), /stream ended before the reply was complete/],
    ["a stream cut inside an event", raw([...partial, 'event: response.output_text.delta\ndata: {"type":"response.outp'], "cut"), /stream ended before the reply was complete|network|terminated|socket/i],
  ] as const) {
    it(`${name}: bounded retries, a failure naming the problem, then /continue answers once`, async (ctx) => {
      const e = await env(ctx, [fault, fault]);
      const w = await e.start();
      await failsThenContinues(e.fake, w, problem);
    });
  }

  it("events after response.completed (more text, an error, response.failed) are ignored: the answer is complete as completed", async (ctx) => {
    const after = [textDelta(" EXTRA"), errorEvent, failed];
    const e = await env(ctx, [raw([created, messageAdded, textDelta("complete answer"), completed, ...after]), { text: "a retry's answer" }]);
    const w = await e.start();
    await answers(w, "complete answer");
    expect(e.fake.requests, "no retry").toHaveLength(1);
  });

  it("response.incomplete (max_output_tokens) ends the reply as the model's own limit cut it, like chat completions' finish_reason length: no retry", async (ctx) => {
    const incomplete = ev("response.incomplete", { response: response("incomplete", [], { incomplete_details: { reason: "max_output_tokens" } }) });
    const e = await env(ctx, [raw([...partial, textDelta("up to the limit"), incomplete, textDelta(" EXTRA")]), { text: "a retry's answer" }]);
    const w = await e.start();
    await answers(w, "PARTIAL up to the limit");
    expect(e.fake.requests, "a deterministic limit is not retried").toHaveLength(1);
  });

  it("a model that stalls mid-stream, then before its headers, times out per the model's limits; /continue answers once", async (ctx) => {
    const e = await env(ctx, [raw(partial, "stall"), { hang: true }]);
    const w = await e.start({ fast: true });
    await failsThenContinues(e.fake, w, NO_HEADERS, { error: { kind: "timeout" } });
    expect(e.fake.requests.slice(0, 2).map((r) => r.aborted), "the client gave up on both stalled requests").toEqual([true, true]);
  });
});
