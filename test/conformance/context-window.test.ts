// The model's context window (`token_max_context`) counted as the provider counts it: system prompt, tool
// definitions and messages. A fake model that refuses any request over its window, with the real error
// shape, shows whether compaction comes before the refusal, and whether a history far longer than the
// window can still be summarised (in pieces, each within the window).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { newEnv, pairingProblems, transcript, until, userMessage } from "./harness.js";
import { isSummaryRequest, textOf, wireMessages } from "./model-script.js";
import { bodyTokens, buildLongHistory, ended, HISTORY, unconfiguredAfterLongHistory, windowedModel, withWindow, words } from "./windowed-model.js";

const STDIO_MCP = fileURLToPath(new URL("../fakes/mcp/stdio-server.mjs", import.meta.url));

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

  it("a restarted worker with a long history and a large MCP toolset compacts before its first request (the window check sees the MCP tools)", async (ctx) => {
    let window = 1_000_000;
    const model = windowedModel(() => window);
    const { fake, start } = await newEnv(ctx, { responder: model });
    const texts = HISTORY.slice(0, 6);
    const big = await start({ init: { model: withWindow(fake.url, window) } });
    for (const [i, text] of texts.entries()) {
      await big.client.enqueue(userMessage(`h${i}`, text));
      await ended(big, i + 1);
    }
    await big.client.close();
    // The last request without MCP tools: the history and the built-in tools, well within 85 % of the new window.
    const withoutMcp = bodyTokens(fake.requests.at(-1)!);
    window = Math.ceil(withoutMcp / 0.7);
    const before = fake.requests.length;
    const w = await start({
      init: {
        model: withWindow(fake.url, window),
        mcpServers: { inv: { transport: "stdio", command: process.execPath, args: [STDIO_MCP], env: { MCP_BULK_TOOLS: "60" }, secretEnv: {}, timeoutSeconds: 30, toolsDeny: [] } },
      },
    });
    await w.client.enqueue(userMessage("after", "and now?"));
    await ended(w, texts.length + 1);
    const sent = fake.requests.slice(before);
    const answered = sent.filter((r) => !isSummaryRequest(r));
    expect(model.refused.map(bodyTokens), `requests refused as too long (window ${window}, ${withoutMcp} without MCP tools)`).toEqual([]);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBe(1);
    expect(isSummaryRequest(sent[0]!), "the first request is the summary").toBe(true);
    expect(((answered[0]?.body["tools"] as unknown[]) ?? []).length).toBeGreaterThan(60);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(pairingProblems(current)).toEqual([]);
  });

  it("a history far longer than the window (model switched to a smaller one) is summarised in pieces that each fit", async (ctx) => {
    let window = 1_000_000;
    const model = windowedModel(() => window);
    const { fake, start } = await newEnv(ctx, { responder: model });
    const texts = HISTORY;
    await buildLongHistory(start, fake.url);
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

  it("a model without token_max_context: the refusal states the window, the summary pieces fit it at once, and later turns compact before a refusal", async (ctx) => {
    const window = 12_000;
    const { model, w, sent } = await unconfiguredAfterLongHistory(ctx, true, window);
    expect(model.refused, "only the first request is refused").toEqual([sent[0]]);
    const summaries = sent.filter(isSummaryRequest);
    expect(summaries.length, "the summary came in more than one piece").toBeGreaterThan(1);
    for (const req of summaries) expect(bodyTokens(req)).toBeLessThanOrEqual(window);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(JSON.stringify(current[0]!.content)).toContain(model.summaryOf.get(summaries.at(-1)!)!);

    // The history grows past the window again: the stated window is remembered, so it compacts before sending.
    for (let i = 0; i < 5; i++) {
      await w.client.enqueue(userMessage(`more${i}`, words(8_000, `more ${i}`)));
      await ended(w, HISTORY.length + 2 + i);
    }
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(w.eventsOf("compacted").length).toBeGreaterThan(1);
    expect(model.refused.length, "requests refused as too long").toBe(1);
  });

  it("a model without token_max_context whose refusal states no window: the summary is refused too and is made in halved pieces, the turn completes", async (ctx) => {
    const { model, w, sent } = await unconfiguredAfterLongHistory(ctx, false, 12_000);
    expect(w.eventsOf("compacted").length).toBe(1);
    const summaries = sent.filter(isSummaryRequest);
    const answered = summaries.filter((r) => model.summaryOf.has(r));
    expect(summaries.filter((r) => model.refused.includes(r)).length, "summary requests refused before the pieces were small enough").toBeGreaterThan(0);
    expect(answered.length, "the summary came in more than one piece").toBeGreaterThan(1);
    expect(summaries.length, "summary calls in all").toBeLessThanOrEqual(8);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(JSON.stringify(current[0]!.content)).toContain(model.summaryOf.get(answered.at(-1)!)!);
    expect(model.refused.includes(sent.at(-1)!), "the last request (the answer) is not refused").toBe(false);
  });

  it("STARLING_CRASH_AT=compaction with a summary in pieces: a crash between pieces stores nothing, one after the commit keeps the whole summary", async (ctx) => {
    let window = 1_000_000;
    const model = windowedModel(() => window);
    const { fake, start } = await newEnv(ctx, { responder: model });
    await buildLongHistory(start, fake.url);
    const probe = await start();
    const allBefore = await transcript(probe.client, "all");
    await probe.client.close();
    window = 12_000;
    const small = { init: { model: withWindow(fake.url, window) } };

    // 1. The worker dies while the second piece is being summarised: the first piece's summary was never stored.
    model.hangFromSummary = model.summaryOf.size + 2;
    const first = await start(small);
    await first.client.enqueue(userMessage("after", "and now?"));
    await until("the second piece is being summarised", () => fake.requests.filter(isSummaryRequest).length === model.summaryOf.size + 1);
    expect(model.summaryOf.size).toBeGreaterThan(0);
    first.client.kill("SIGKILL");
    await first.exited();
    model.hangFromSummary = null;

    // 2. Restarted: the full history as before plus the new message, no compaction; the turn compacts again and dies right after the commit.
    const second = await start({ ...small, env: { STARLING_CRASH_AT: "compaction" } });
    expect(second.init.unfinishedTurn?.reason).toBe("crash");
    const current = await transcript(second.client, "current");
    expect(current[0]?.role).toBe("user");
    expect(current).toEqual(await transcript(second.client, "all"));
    expect(current.length).toBe(allBefore.length + 1);
    const piecesBefore = model.summaryOf.size;
    await second.client.continue({ reason: "host continues after restart" }).catch(() => undefined);
    expect((await second.exited()).signal).toBe("SIGKILL");
    const lastSummary = [...model.summaryOf.values()].at(-1)!;
    expect(model.summaryOf.size - piecesBefore).toBeGreaterThan(1);

    // 3. Restarted: the whole compaction is there (the last piece's summary), the turn completes without summarising again.
    const third = await start(small);
    const compacted = await transcript(third.client, "current");
    expect(compacted[0]?.role).toBe("context");
    expect(JSON.stringify(compacted[0]!.content)).toContain(lastSummary);
    expect((await transcript(third.client, "all")).length).toBe(allBefore.length + 1);
    const summariesSoFar = model.summaryOf.size;
    await third.client.continue({ reason: "host continues after restart" });
    await third.waitForEvent("turn_completed", (e) => e.turnId === HISTORY.length + 1);
    expect(model.summaryOf.size).toBe(summariesSoFar);
    expect(model.refused).toEqual([]);
  });
});
