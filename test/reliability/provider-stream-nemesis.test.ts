// Provider nemesis, the wire itself (issue #7): the fake model server's raw-body mode sends malformed
// SSE (garbage lines, a `data:` with broken JSON, a stream without `[DONE]` or finish_reason), events
// split across TCP writes in odd places, and a model that stalls mid-stream or before its headers.
// At the worker over real stdio: clear turn failures naming the problem, bounded retries, /continue
// possible (canContinue), and nothing half-recorded: the transcript never holds a partial answer that
// a /continue would then duplicate.
import { describe, expect, it } from "vitest";
import { sseChunk, type RawStep, type ScriptedReply } from "../fakes/openai-server.js";
import { modelConfig, newEnv, userMessage, type TestEnv } from "../conformance/harness.js";
import { answers, cutOddly, ODD_TEXT, failsThenContinues, NO_HEADERS, raw, retryAnswers } from "./stream-faults.js";

const role = sseChunk({ role: "assistant", content: "" });
const done = "data: [DONE]\n\n";
/** A reply streamed correctly, for the retry after a fault. */
const good = (text: string): ScriptedReply => ({ text });

/** Short limits so stalls are detected in tests: 0.5 s for headers and for silence mid-stream. */
const startFast = (env: TestEnv) =>
  env.start({ init: { model: { ...modelConfig(env.fake.url), conn_timeout: 0.5, stream_idle_timeout: 0.5 } } });

describe.concurrent("provider nemesis: the stream", () => {
  it("ignores garbage lines and comments, and joins events split across TCP writes mid-field, mid-CRLF and inside a character", async (ctx) => {
    const body = Buffer.from(
      [
        role,
        ": keep-alive comment\n",
        "this line is not SSE at all\n",
        "id: 5\nretry: 100\n\n", // fields that carry no data: no event
        sseChunk({ content: ODD_TEXT[0] }).replace(/\n/g, "\r\n"),
        sseChunk({ content: ODD_TEXT[1] }),
        sseChunk({}, "stop"),
        done,
      ].join(""),
    );
    const env = await newEnv(ctx, { replies: [raw(cutOddly(body, role.length))] });
    const w = await env.start();
    await answers(w, ODD_TEXT.join(""));
    expect(env.fake.requests, "no retry was needed").toHaveLength(1);
  });

  it("a data: line with broken JSON fails the attempt naming it; the retry's answer is stored, never the partial text", async (ctx) => {
    const broken = raw([role, sseChunk({ content: "PARTIAL " }), 'data: {"choices":[{"delta":{"content":"bro\n\n']);
    const env = await newEnv(ctx, { replies: [broken, good("complete answer")] });
    const w = await env.start();
    await retryAnswers(env.fake, w, "complete answer");
  });

  for (const [name, fault, problem] of [
    ["broken JSON on every attempt", raw([role, sseChunk({ content: "PARTIAL " }), "data: {not json\n\n", done]), /malformed stream event \(not JSON\): "\{not json"/],
    ["a stream that ends without [DONE] or finish_reason", raw([role, sseChunk({ content: "PARTIAL " })], "end"), /stream ended before the reply was complete/],
    ["a stream cut inside an event", raw([role, sseChunk({ content: "PARTIAL " }), 'data: {"choi'], "cut"), /stream ended before the reply was complete|network|terminated|socket/i],
  ] as const) {
    it(`${name}: bounded retries, a failure naming the problem, then /continue answers once`, async (ctx) => {
      const env = await newEnv(ctx, { replies: [fault, fault] });
      const w = await env.start();
      await failsThenContinues(env.fake, w, problem);
    });
  }

  it("a model that stalls mid-stream, then before its headers, times out per the model's limits; /continue answers once", async (ctx) => {
    const stall = raw([role, sseChunk({ content: "PARTIAL " })], "stall");
    const env = await newEnv(ctx, { replies: [stall, { hang: true }] });
    const w = await startFast(env);
    await failsThenContinues(env.fake, w, NO_HEADERS, { error: { kind: "timeout" } });
    expect(env.fake.requests.slice(0, 2).map((r) => r.aborted), "the client gave up on both stalled requests").toEqual([true, true]);
  });

  it("a stream that sends only keep-alive comments is a stall too (it would otherwise hold the turn forever)", async (ctx) => {
    const pings: RawStep[] = [role];
    for (let i = 0; i < 600; i++) pings.push(": OPENROUTER PROCESSING\n\n", { pauseMs: 100 }); // 60 s, until the client gives up
    const env = await newEnv(ctx, { replies: [raw(pings, "stall"), raw(pings, "stall")] });
    const w = await startFast(env);
    await w.client.enqueue(userMessage("m1", "hi"));
    const failed = await w.waitForEvent("turn_failed", undefined, 30_000);
    expect(failed).toMatchObject({ canContinue: true, error: { kind: "timeout" } });
    expect(failed.error.message).toMatch(/only keep-alive comments or pings, no data, for 0\.5 s/);
    expect(env.fake.requests).toHaveLength(2);
  });

  it("the mid-stream stall is named: the model sent no data for stream_idle_timeout", async (ctx) => {
    const stall = raw([role, sseChunk({ content: "PARTIAL " })], "stall");
    const env = await newEnv(ctx, { replies: [stall, stall] });
    const w = await startFast(env);
    await w.client.enqueue(userMessage("m1", "hi"));
    const failed = await w.waitForEvent("turn_failed", undefined, 30_000);
    expect(failed).toMatchObject({ canContinue: true, error: { kind: "timeout" } });
    expect(failed.error.message).toMatch(/the model sent no data for 0\.5 s/);
  });
});
