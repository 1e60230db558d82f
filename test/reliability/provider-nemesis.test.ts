// Provider nemesis (issue #7), at the worker over real stdio: a stream cut mid-chunk, 429 bursts,
// unknown tools, invalid JSON arguments, a model that never stops calling tools. Clear results,
// bounded retries, /continue offered (canContinue) where it should be, every tool call paired.
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { newEnv, pairingProblems, transcript, userMessage } from "../conformance/harness.js";

const lastIsTool = (req: RecordedRequest) => ((req.body.messages ?? []) as { role: string }[]).at(-1)?.role === "tool";
const toolResults = (req: RecordedRequest) =>
  ((req.body.messages ?? []) as { role: string; content?: unknown }[]).filter((m) => m.role === "tool").map((m) => String(m.content));

describe.concurrent("provider nemesis", () => {
  it("a stream cut mid-chunk is retried; the stored answer is the whole second answer, never the partial one", async (ctx) => {
    const replies: ScriptedReply[] = [{ text: "PARTIAL-then-more-text", dropConnection: true, chunkChars: 4 }, { text: "complete answer" }];
    const { fake, start } = await newEnv(ctx, { replies });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "hi"));
    const done = await w.waitForEvent("turn_completed", undefined, 20_000);
    expect(done.message.content).toEqual([{ type: "text", text: "complete answer" }]);
    expect(fake.requests).toHaveLength(2);
    expect(JSON.stringify(await transcript(w.client))).not.toContain("PARTIAL");
  });

  it("a burst of 429s: bounded retries, then a rate_limited failure that can be continued", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: () => ({ status: 429, retryAfterSeconds: 0 }) });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "hi"));
    const failed = await w.waitForEvent("turn_failed", undefined, 20_000);
    expect(failed).toMatchObject({ canContinue: true, error: { kind: "rate_limited" } });
    expect(fake.requests.length, "one attempt plus the configured retry").toBe(2);
  });

  it("an unknown tool and invalid JSON arguments get error results the model can read; the turn completes", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req, i) => {
        if (!lastIsTool(req)) return { toolCalls: [{ name: "no_such_tool", arguments: {} }, { name: "file_read", arguments: "{not json" }] };
        return { text: `saw ${toolResults(req).length} results (${i})` };
      },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "use tools"));
    await w.waitForEvent("turn_completed", undefined, 20_000);
    const results = toolResults(fake.requests.at(-1)!);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatch(/unknown tool/i);
    expect(results[0]).toMatch(/file_read/); // lists what exists
    expect(results[1]).toMatch(/json|argument/i);
    expect(pairingProblems(await transcript(w.client))).toEqual([]);
  });

  it("a model that never stops calling tools is stopped at the step limit, and /continue is possible", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: () => ({ toolCalls: [{ name: "ls", arguments: { path: "." } }] }) });
    const w = await start({ init: { stepLimit: 4 } });
    await w.client.enqueue(userMessage("m1", "loop forever"));
    const failed = await w.waitForEvent("turn_failed", undefined, 30_000);
    expect(failed).toMatchObject({ canContinue: true, error: { kind: "step_limit" } });
    expect(fake.requests).toHaveLength(4);
    expect(pairingProblems(await transcript(w.client))).toEqual([]);
  });
});
