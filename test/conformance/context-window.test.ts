// The model's context window (`token_max_context`) counted as the provider counts it: system prompt, tool
// definitions and messages. A fake model that refuses any request over its window, with the real error
// shape, shows whether compaction comes before the refusal, and whether a history far longer than the
// window can still be summarised (in pieces, each within the window).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { InitializeParams } from "@starling/protocol";
import type { RecordedRequest, Responder, ScriptedReply } from "../fakes/openai-server.js";
import { modelConfig, newEnv, pairingProblems, transcript, until, userMessage, type WorkerUnderTest } from "./harness.js";
import { isSummaryRequest, textOf, wireMessages } from "./model-script.js";

const STDIO_MCP = fileURLToPath(new URL("../fakes/mcp/stdio-server.mjs", import.meta.url));

/** Tokens of a request as the fake counts them: 4 bytes of the JSON body per token (what the heuristic estimator assumes). */
const bodyTokens = (req: RecordedRequest) => Math.ceil(req.rawBody.length / 4);

/** A model with a window of `window` tokens: a longer request is refused as OpenAI does (400 context_length_exceeded). */
function windowedModel(window: () => number): Responder & { refused: RecordedRequest[]; summaryOf: Map<RecordedRequest, string> } {
  const refused: RecordedRequest[] = [];
  const summaryOf = new Map<RecordedRequest, string>();
  const responder = (req: RecordedRequest): ScriptedReply => {
    const tokens = bodyTokens(req);
    if (tokens > window()) {
      refused.push(req);
      return {
        status: 400,
        errorBody: {
          error: {
            message: `This model's maximum context length is ${window()} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`,
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded",
          },
        },
      };
    }
    if (isSummaryRequest(req)) {
      const text = `SUMMARY #${summaryOf.size + 1}: the user asked for things.`;
      summaryOf.set(req, text);
      return { text };
    }
    return { text: `ok ${wireMessages(req).length}` };
  };
  return Object.assign(responder, { refused, summaryOf });
}

const ended = (w: WorkerUnderTest, turnId: number) =>
  until(`turn ${turnId} ends`, () => [...w.eventsOf("turn_completed"), ...w.eventsOf("turn_failed")].some((e) => e.turnId === turnId));

const words = (n: number, tag: string) => `${tag}: ` + "Some context about the task that makes it longer. ".repeat(Math.ceil(n / 50));

function withWindow(url: string, window: number): InitializeParams["model"] {
  return { ...modelConfig(url), token_max_context: window } as InitializeParams["model"];
}

describe.concurrent("the model's context window", () => {
  it("a session with a large MCP toolset compacts before the provider refuses the request, not after", async (ctx) => {
    const WINDOW = 20_000;
    const model = windowedModel(() => WINDOW);
    const { fake, start } = await newEnv(ctx, { responder: model });
    const w = await start({
      init: {
        model: withWindow(fake.url, WINDOW),
        // The history threshold alone would never trigger: only the window can.
        compression: { thresholdTokens: 1_000_000, retainRecentTokens: 500 },
        mcpServers: { inv: { transport: "stdio", command: process.execPath, args: [STDIO_MCP], env: { MCP_BULK_TOOLS: "20" }, secretEnv: {}, timeoutSeconds: 30, toolsDeny: [] } },
      },
    });
    for (let i = 1; i <= 8; i++) {
      await w.client.enqueue(userMessage(`m${i}`, words(8_000, `message ${i}`)));
      await ended(w, i);
    }
    const toolTokens = bodyTokens(fake.requests.find((r) => ((r.body["tools"] as unknown[]) ?? []).length > 20)!);
    expect(toolTokens, "the toolset takes a good part of the window").toBeGreaterThan(WINDOW / 4);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBeGreaterThan(0);
    expect(model.refused.map(bodyTokens), "requests refused as too long").toEqual([]);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(pairingProblems(current)).toEqual([]);
  });

  it("a history far longer than the window (model switched to a smaller one) is summarised in pieces that each fit", async (ctx) => {
    let window = 1_000_000;
    const model = windowedModel(() => window);
    const { fake, start } = await newEnv(ctx, { responder: model });
    // Built with a big model: one pasted text of ~20k tokens among ordinary messages, ~45k tokens in all.
    const big = await start({ init: { model: withWindow(fake.url, window) } });
    const texts = [words(2_000, "first ask"), words(80_000, "pasted report"), ...Array.from({ length: 12 }, (_, i) => words(8_000, `ask ${i}`))];
    for (const [i, text] of texts.entries()) {
      await big.client.enqueue(userMessage(`h${i}`, text));
      await ended(big, i + 1);
    }
    await big.client.close();
    expect(model.refused).toEqual([]);

    window = 12_000;
    const before = fake.requests.length;
    const w = await start({ init: { model: withWindow(fake.url, window) } });
    await w.client.enqueue(userMessage("after", "and now?"));
    await ended(w, texts.length + 1);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    const [compacted] = w.eventsOf("compacted");
    expect(compacted?.summarisedMessages).toBeGreaterThan(texts.length);
    const summaries = fake.requests.slice(before).filter(isSummaryRequest);
    expect(summaries.length).toBeGreaterThan(1);
    expect(summaries.length).toBeLessThanOrEqual(8);
    for (const req of summaries) expect(bodyTokens(req)).toBeLessThanOrEqual(window);
    // Each piece after the first carries the summary of the ones before.
    for (const [i, req] of summaries.entries()) {
      if (i > 0) expect(textOf(wireMessages(req).find((m) => m.role === "user"))).toContain(model.summaryOf.get(summaries[i - 1]!)!);
    }
    expect(model.refused.length, "requests refused as too long").toBe(0);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(textOf({ role: "user", content: current[0]!.content.map((c) => (c.type === "text" ? c.text : "")).join("") })).toContain(
      model.summaryOf.get(summaries.at(-1)!)!,
    );
    expect((await transcript(w.client, "all")).length).toBe(2 * texts.length + 2);
  });
});
