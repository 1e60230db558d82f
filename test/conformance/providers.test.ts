// Every chat provider through the real worker: reply, tool turn, 429 then success, 401 not
// retried, cancel mid-stream. Each runs against a fake speaking that provider's wire format.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startFakeAnthropic } from "../fakes/anthropic-server.js";
import { startFakeResponses } from "../fakes/responses-server.js";
import type { BaseReply, RecordedRequest, ScriptedServer } from "../fakes/scripted-server.js";
import { userMessage } from "./harness.js";
import { wireEnv } from "./wire-env.js";

/** What a test needs to script one provider's fake in common terms. */
interface ProviderCase<R extends BaseReply> {
  providerType: "claude_code" | "open_router_responses";
  modelName: string;
  start(): Promise<ScriptedServer<R> & { url: string }>;
  text(text: string, usage?: { input: number; output: number }, chunkChars?: number): R;
  toolCall(id: string, name: string, args: Record<string, unknown>): R;
  /** The tool result for `callId` as the provider's wire format carries it in a later request. */
  toolResultIn(req: RecordedRequest, callId: string): string | undefined;
  /** A reply the provider's content filter stopped after `text`. */
  filtered(text: string): R;
  /** A reply the provider cut at its own output limit after `text`. */
  atLimit(text: string): R;
  /** The output limit a request carries, in the provider's own field. */
  limitIn(req: RecordedRequest): unknown;
}

type Item = Record<string, unknown>;

const anthropic: ProviderCase<Parameters<typeof startFakeAnthropic>[0] extends infer O ? (O extends { replies?: (infer R)[] } ? R : never) : never> = {
  providerType: "claude_code",
  modelName: "claude-sonnet-4-5",
  start: () => startFakeAnthropic({ apiKey: "test-key" }),
  text: (text, usage, chunkChars) => ({
    text,
    ...(usage ? { usage: { input_tokens: usage.input, output_tokens: usage.output } } : {}),
    ...(chunkChars ? { chunkChars } : {}),
  }),
  toolCall: (id, name, input) => ({ toolUses: [{ id, name, input }], chunkChars: 5 }),
  toolResultIn: (req, callId) =>
    ((req.body["messages"] as Array<{ content: Item[] }>) ?? [])
      .flatMap((m) => m.content)
      .find((b) => b["type"] === "tool_result" && b["tool_use_id"] === callId)?.["content"] as string | undefined,
  filtered: (text) => ({ text, stopReason: "refusal" }),
  atLimit: (text) => ({ text, stopReason: "max_tokens" }),
  limitIn: (req) => req.body["max_tokens"],
};

const responses: ProviderCase<Parameters<typeof startFakeResponses>[0] extends infer O ? (O extends { replies?: (infer R)[] } ? R : never) : never> = {
  providerType: "open_router_responses",
  modelName: "openai/gpt-4.1-mini",
  start: () => startFakeResponses({ apiKey: "test-key" }),
  text: (text, usage, chunkChars) => ({
    text,
    ...(usage ? { usage: { input_tokens: usage.input, output_tokens: usage.output } } : {}),
    ...(chunkChars ? { chunkChars } : {}),
  }),
  toolCall: (callId, name, args) => ({ functionCalls: [{ callId, name, arguments: args }], chunkChars: 5 }),
  toolResultIn: (req, callId) =>
    ((req.body["input"] as Item[]) ?? []).find((i) => i["type"] === "function_call_output" && i["call_id"] === callId)?.["output"] as string | undefined,
  filtered: (text) => ({ text, incomplete: "content_filter" }),
  atLimit: (text) => ({ text, incomplete: "max_output_tokens" }),
  limitIn: (req) => req.body["max_output_tokens"],
};

async function setup<R extends BaseReply>(ctx: { onTestFinished: (fn: () => Promise<void>) => void }, c: ProviderCase<R>, model: Record<string, unknown> = {}) {
  const e = await wireEnv(ctx, { providerType: c.providerType, modelName: c.modelName, startFake: c.start });
  return { fake: e.fake, dir: e.dir, worker: await e.start({ model }) };
}

for (const c of [anthropic, responses] as Array<ProviderCase<BaseReply>>) {
  describe.concurrent(`${c.providerType} through the worker`, () => {
    it("a reply turn completes with the text and usage", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c);
      fake.push(c.text("Hello from the provider.", { input: 42, output: 7 }));
      await w.client.enqueue(userMessage("m1", "hi"));
      const done = await w.waitForEvent("turn_completed");
      expect(done.message.content).toEqual([{ type: "text", text: "Hello from the provider." }]);
      expect(done.usage).toMatchObject({ inputTokens: 42, outputTokens: 7 });
      expect(fake.requests).toHaveLength(1);
    });

    it("a tool turn: the call runs, its result goes back in the provider's format, then the answer", async (ctx) => {
      const { fake, dir, worker: w } = await setup(ctx, c);
      fake.push(c.toolCall("call_w1", "file_write", { file_path: "out/note.txt", content: "written by the model\n" }), c.text("Done."));
      await w.client.enqueue(userMessage("m1", "write a note"));
      const done = await w.waitForEvent("turn_completed");
      expect(done.message.content).toEqual([{ type: "text", text: "Done." }]);
      expect(readFileSync(join(dir, "out/note.txt"), "utf8")).toBe("written by the model\n");
      expect(fake.requests).toHaveLength(2);
      expect(c.toolResultIn(fake.requests[1]!, "call_w1")).toMatch(/note\.txt/);
    });

    it("max_output_tokens goes on the wire; a reply cut there ends outputLimited, one the filter stopped contentFiltered", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c, { max_output_tokens: 5 });
      fake.push(c.text("A long answer that goes on well past twenty characters."), c.filtered("Here is how to"));
      await w.client.enqueue(userMessage("m1", "a long one"));
      const cut = await w.waitForEvent("turn_completed");
      expect(c.limitIn(fake.requests[0]!)).toBe(5);
      expect(cut.message.content).toEqual([{ type: "text", text: "A long answer that g" }]);
      expect(cut.outputLimited).toBe(true);
      expect(cut.contentFiltered).toBeUndefined();
      await w.client.enqueue(userMessage("m2", "something touchy"));
      const filtered = await w.waitForEvent("turn_completed", (e) => e.turnId !== cut.turnId);
      expect(filtered.message.content).toEqual([{ type: "text", text: "Here is how to" }]);
      expect(filtered.contentFiltered).toBe(true);
      expect(filtered.outputLimited).toBeUndefined();
    });

    it("a reply the provider cut at its default output limit ends outputLimited", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c);
      fake.push(c.atLimit("The first half of"));
      await w.client.enqueue(userMessage("m1", "a long one"));
      const done = await w.waitForEvent("turn_completed");
      expect(done.message.content).toEqual([{ type: "text", text: "The first half of" }]);
      expect(done.outputLimited).toBe(true);
    });

    it("429 then success: the turn completes after one retry", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c);
      fake.push({ status: 429, retryAfterSeconds: 0 }, c.text("after the retry"));
      await w.client.enqueue(userMessage("m1", "hi"));
      const done = await w.waitForEvent("turn_completed");
      expect(done.message.content).toEqual([{ type: "text", text: "after the retry" }]);
      expect(fake.requests).toHaveLength(2);
    });

    it("401 is not retried: the turn fails with kind auth", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c);
      fake.setResponder(() => ({ status: 401, errorBody: { error: { message: "bad key", type: "authentication_error" } } }));
      await w.client.enqueue(userMessage("m1", "hi"));
      const failed = await w.waitForEvent("turn_failed");
      expect(failed.error.kind).toBe("auth");
      expect(fake.requests).toHaveLength(1);
    });

    it("cancel mid-stream aborts the request and ends the turn cancelled", async (ctx) => {
      const { fake, worker: w } = await setup(ctx, c);
      fake.push({ ...c.text("this answer never finishes", undefined, 2), stallAfterEvents: 4 });
      await w.client.enqueue(userMessage("m1", "hi"));
      await fake.waitForRequests(1);
      await w.waitForEvent("turn_started");
      expect(await w.client.cancel({ reason: "user pressed /cancel" })).toEqual({ accepted: true });
      await w.waitForEvent("turn_cancelled", undefined, 5000);
      await ctx.expect.poll(() => fake.requests[0]!.aborted).toBe(true);
      expect(w.eventsOf("turn_completed")).toHaveLength(0);
    });
  });
}
