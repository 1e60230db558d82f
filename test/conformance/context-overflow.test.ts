// The provider refuses a request as too long although the estimate said it fits: the worker compacts and retries.
import { describe, expect, it } from "vitest";
import type { RecordedRequest, Responder } from "../fakes/openai-server.js";
import { newEnv, pairingProblems, transcript, until, userMessage, type WorkerUnderTest } from "./harness.js";
import { isSummaryRequest, toolThenAnswer } from "./model-script.js";

/** OpenAI's real refusal of an over-long request (HTTP 400, code context_length_exceeded). */
const overflow = (tokens: number) => ({
  status: 400,
  errorBody: {
    error: {
      message: `This model's maximum context length is 1000 tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`,
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
  },
});

/** Anthropic's refusal of an over-long request as OpenRouter passes it on (HTTP 400 "Provider returned error", Anthropic's body in metadata.raw). */
const overflowThroughOpenRouter = (tokens: number) => ({
  status: 400,
  errorBody: {
    error: {
      message: "Provider returned error",
      code: 400,
      metadata: {
        raw: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: `prompt is too long: ${tokens} tokens > 1000 maximum` } }),
        provider_name: "Anthropic",
      },
    },
  },
});

/**
 * A model whose window is the first request's body (system prompt, tools, first message) plus `roomBytes`:
 * anything bigger is refused with the real error shape.
 */
function smallWindow(
  roomBytes: number,
  agent: Responder = toolThenAnswer(),
  refusal: (tokens: number) => { status: number; errorBody: Record<string, unknown> } = overflow,
): Responder & { limit: () => number } {
  let limit = 0;
  const responder = (req: RecordedRequest, i: number) => {
    if (limit === 0) limit = req.rawBody.length + roomBytes;
    return req.rawBody.length > limit ? refusal(Math.ceil(req.rawBody.length / 4)) : agent(req, i);
  };
  return Object.assign(responder, { limit: () => limit });
}

/** Waits for turn `turnId` to complete or fail. */
const ended = (w: WorkerUnderTest, turnId: number) =>
  until(`turn ${turnId} ends`, () => [...w.eventsOf("turn_completed"), ...w.eventsOf("turn_failed")].some((e) => e.turnId === turnId));

const longText = (n: number) => `Task ${n}: ` + "Some context about the task that makes it longer. ".repeat(20);

/** Sends eight long messages, one turn after the other. */
async function sendLongMessages(w: WorkerUnderTest): Promise<void> {
  for (let i = 1; i <= 8; i++) {
    await w.client.enqueue(userMessage(`m${i}`, longText(i)));
    await ended(w, i);
  }
}

describe.concurrent("context overflow", () => {
  it("a refusal as too long (threshold not reached by the estimate) compacts and retries: the turn completes", async (ctx) => {
    const model = smallWindow(5_000);
    const { fake, start } = await newEnv(ctx, { responder: model });
    // The threshold is far above what the model takes: the estimate never triggers compaction.
    const w = await start({ init: { compression: { thresholdTokens: 1_000_000, retainRecentTokens: 50 } } });
    await sendLongMessages(w);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBeGreaterThan(0);
    expect(fake.requests.some(isSummaryRequest)).toBe(true);
    expect(fake.requests.some((r) => r.rawBody.length > model.limit())).toBe(true);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(pairingProblems(current)).toEqual([]);
  });

  it("without compression settings a refusal as too long still compacts and retries", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: smallWindow(5_000) });
    const w = await start();
    await sendLongMessages(w);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBeGreaterThan(0);
  });

  it("Anthropic's refusal as too long passed on by OpenRouter (Provider returned error) also compacts and retries", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: smallWindow(5_000, toolThenAnswer(), overflowThroughOpenRouter) });
    const w = await start({ init: { compression: { thresholdTokens: 1_000_000, retainRecentTokens: 50 } } });
    await sendLongMessages(w);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBeGreaterThan(0);
    expect(fake.requests.some(isSummaryRequest)).toBe(true);
  });

  it("a message too long for the window even after compacting fails once, naming /new, without a retry loop", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: smallWindow(5_000) });
    const w = await start({ init: { compression: { thresholdTokens: 1_000_000, retainRecentTokens: 50 } } });
    await w.client.enqueue(userMessage("small", "hello"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    const before = fake.requests.length;
    await w.client.enqueue(userMessage("huge", "x".repeat(20_000)));
    const failed = await w.waitForEvent("turn_failed", (e) => e.turnId === 2);
    expect(failed.error.message).toMatch(/context/i);
    expect(failed.error.message).toMatch(/\/new/);
    expect(failed.error.kind).toBe("context_overflow");
    expect(failed.canContinue).toBe(false);
    // One try, one compaction attempt at most, one retry: bounded.
    expect(fake.requests.length - before).toBeLessThanOrEqual(4);
  });
});
