// Compaction: older history is summarised into one context message; a tool call never loses its result.
import { describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { newEnv, pairingProblems, toolItems, transcript, userMessage } from "./harness.js";
import { isSummaryRequest, textOf, toolThenAnswer, wireMessages } from "./model-script.js";

/** Every `tool` message of a request follows an assistant message that asked for that call id. */
function wireOrphans(req: RecordedRequest): string[] {
  const asked = new Set<string>();
  const orphans: string[] = [];
  for (const m of wireMessages(req)) {
    for (const c of m.tool_calls ?? []) asked.add(c.id);
    if (m.role === "tool" && !asked.has(m.tool_call_id ?? "")) orphans.push(m.tool_call_id ?? "?");
  }
  return orphans;
}

const longText = (n: number) => `Please do task number ${n}. ` + "Some context about the task that makes it longer. ".repeat(4);

describe.concurrent("compaction", () => {
  it("over several tool turns: compacted events, current starts with a context message, no orphaned tool results, full log kept", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: toolThenAnswer(() => ({ name: "shell", arguments: { command: `echo ${"output ".repeat(30)}` } })),
    });
    const compression = { thresholdTokens: 150, retainRecentTokens: 20 };
    const w = await start({ init: { compression } });
    const ids = ["c1", "c2", "c3", "c4", "c5"];
    for (const [i, id] of ids.entries()) {
      await w.client.enqueue(userMessage(id, longText(i + 1)));
      await w.waitForEvent("turn_completed", (e) => e.turnId === i + 1);
    }

    const compacted = w.eventsOf("compacted");
    expect(compacted.length).toBeGreaterThanOrEqual(2);
    for (const c of compacted) {
      expect(c.summarisedMessages).toBeGreaterThan(0);
      expect(c.tokensAfter).toBeLessThan(c.tokensBefore);
    }
    expect(w.eventsOf("progress").some((e) => e.phase === "compacting")).toBe(true);
    // The model call after a compaction is announced again, at step 1 too (turn_started stands only for a first call nothing preceded).
    const progress = w.eventsOf("progress");
    const afterCompacting = progress.flatMap((p, i) => (p.phase === "compacting" ? [progress[i + 1]] : []));
    expect(afterCompacting.every((p) => p?.phase === "calling_model")).toBe(true);
    expect(afterCompacting.some((p) => p?.step === 1)).toBe(true);

    const current = await transcript(w.client, "current");
    expect(current[0]).toMatchObject({ role: "context" });
    expect(textOf({ role: "user", content: current[0]!.content.map((i) => (i.type === "text" ? i.text : "")).join("") })).toContain("SUMMARY");
    expect(current[1]?.role).not.toBe("tool");
    const inCurrent = toolItems(current);
    const callIds = new Set(inCurrent.calls.map((c) => c.id));
    for (const r of inCurrent.results) expect(callIds.has(r.callId), `result ${r.callId} has its call in current`).toBe(true);
    expect(pairingProblems(current)).toEqual([]);

    const all = await transcript(w.client, "all");
    expect(all.map((m) => m.index)).toEqual(all.map((_, i) => i));
    expect(all.every((m) => m.role !== "context")).toBe(true);
    expect(all.filter((m) => m.role === "user").map((m) => m.messageId)).toEqual(ids);
    expect(toolItems(all).calls).toHaveLength(ids.length);
    expect(pairingProblems(all)).toEqual([]);
    expect(current.length).toBeLessThan(all.length);
    expect(all.slice(-current.length + 1)).toEqual(current.slice(1));

    // What the model was sent: never a tool message without its call, the summary once compacted.
    const summaries = fake.requests.filter(isSummaryRequest);
    expect(summaries.length).toBe(compacted.length);
    for (const req of fake.requests) expect(wireOrphans(req)).toEqual([]);
    const last = fake.requests.at(-1)!;
    expect(wireMessages(last).some((m) => m.role === "user" && textOf(m).includes("SUMMARY"))).toBe(true);
    // A summary request never summarises nothing but the previous summary.
    for (const req of summaries) {
      const body = wireMessages(req).filter((m) => m.role !== "system").slice(0, -1);
      expect(body.length).toBeGreaterThan(0);
      expect(body.length === 1 && textOf(body[0]).includes("SUMMARY")).toBe(false);
    }

    // The compaction survives a restart.
    await w.client.close();
    const again = await start({ init: { compression } });
    expect(await transcript(again.client, "current")).toEqual(current);
    expect((await transcript(again.client, "all")).length).toBe(all.length);
  });

  it("a failed summary call leaves the history uncompacted and the turn still completes", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req) => (isSummaryRequest(req) ? { status: 400 } : toolThenAnswer()(req, 0)),
    });
    const w = await start({ init: { compression: { thresholdTokens: 60, retainRecentTokens: 10 } } });
    await w.client.enqueue(userMessage("a", longText(1)));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    await w.client.enqueue(userMessage("b", longText(2)));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    expect(w.eventsOf("compacted")).toHaveLength(0);
    expect(w.eventsOf("turn_failed")).toHaveLength(0);
    expect(fake.requests.some(isSummaryRequest)).toBe(true);
    const current = await transcript(w.client, "current");
    expect(current).toEqual(await transcript(w.client, "all"));
  });

  it("/continue right after a compaction does not re-summarise the summary alone", async (ctx) => {
    let fail = 0;
    const agent = toolThenAnswer();
    const { fake, start } = await newEnv(ctx, {
      responder: (req, i) => {
        if (!isSummaryRequest(req) && fail > 0) {
          fail--;
          return { status: 500 };
        }
        return agent(req, i);
      },
    });
    const w = await start({ init: { compression: { thresholdTokens: 100, retainRecentTokens: 10 } } });
    await w.client.enqueue(userMessage("a", longText(1)));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    fail = 2; // the first model call of turn 2 fails after its compaction, retry included
    await w.client.enqueue(userMessage("b", longText(2).repeat(3)));
    await w.waitForEvent("turn_failed");
    const before = fake.requests.filter(isSummaryRequest).length;
    expect(await w.client.continue()).toEqual({ accepted: true });
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    for (const req of fake.requests.filter(isSummaryRequest).slice(before)) {
      const body = wireMessages(req).filter((m) => m.role !== "system").slice(0, -1);
      expect(body.length === 1 && textOf(body[0]).includes("SUMMARY"), "summarised only the previous summary").toBe(false);
    }
    expect(pairingProblems(await transcript(w.client))).toEqual([]);
  });

  it("without compression settings nothing is ever compacted", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: toolThenAnswer() });
    const w = await start();
    for (let i = 1; i <= 3; i++) {
      await w.client.enqueue(userMessage(`n${i}`, longText(i).repeat(5)));
      await w.waitForEvent("turn_completed", (e) => e.turnId === i);
    }
    expect(w.eventsOf("compacted")).toHaveLength(0);
    expect(fake.requests.some(isSummaryRequest)).toBe(false);
  });
});
