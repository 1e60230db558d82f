// /cancel against real timing: a model answer that streams slowly, and a cancel that lands between the
// model's tool call and the start of the tool's process.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sseChunk } from "../fakes/openai-server.js";
import { delay, newEnv, processGone, pairingProblems, toolItems, transcript, until, userMessage } from "./harness.js";

/** Live (not zombie) processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(needle) && !processGone(Number(name))) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

describe.concurrent("cancel probes", () => {
  it("/cancel during a slowly streaming answer closes the stream at once; no later text arrives", async (ctx) => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i} `);
    const steps = words.flatMap((word) => [sseChunk({ content: word }), { pauseMs: 200 }]);
    const { fake, start } = await newEnv(ctx, { replies: [{ raw: { steps: [sseChunk({ role: "assistant", content: "" }), ...steps] } }] });
    const w = await start({ init: { streamDeltas: true } });
    await w.client.enqueue(userMessage("m1", "tell me a long story"));
    await w.waitForEvent("assistant_delta", (e) => e.text.includes("word1"), 10_000);
    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled");
    // Not timed: the fake saw its stream closed before its end (`aborted`); one read on to its end (6 s) never is.
    await until("the fake saw the stream closed", () => fake.requests[0]!.aborted);
    const deltasAtCancel = w.eventsOf("assistant_delta").length;
    await delay(1000); // five more words would have come by now
    expect(w.eventsOf("assistant_delta")).toHaveLength(deltasAtCancel);
    expect(w.eventsOf("assistant_delta").map((e) => e.text).join("")).not.toContain("word29");
    expect(w.eventsOf("turn_completed")).toHaveLength(0);
  });

  it("a cancel racing the tool's start leaves no process running and pairs the call with a cancelled result", async (ctx) => {
    const marker = `sleep 47${process.pid % 100}1`;
    let w: Awaited<ReturnType<Awaited<ReturnType<typeof newEnv>>["start"]>> | undefined;
    let cancelAfterMs = 0;
    const { start } = await newEnv(ctx, {
      responder: () => {
        // The cancel is sent while the reply with the tool call is still being written or parsed.
        const client = w!.client;
        setTimeout(() => void client.cancel(), cancelAfterMs);
        return { toolCalls: [{ name: "shell", arguments: { command: marker, wait_ms: 60_000 } }] };
      },
    });
    w = await start();
    for (let round = 0; round < 24; round++) {
      cancelAfterMs = Math.floor(round / 3);
      const since = w.mark();
      await w.client.enqueue(userMessage(`m${round}`, `run it (${round})`));
      await w.waitForEvent("turn_cancelled", undefined, { timeoutMs: 10_000, since });
      expect(processesWith(marker), `round ${round} (cancel after ${cancelAfterMs} ms)`).toEqual([]);
    }
    await delay(500);
    expect(processesWith(marker)).toEqual([]);
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const { calls, results } = toolItems(all);
    expect(results).toHaveLength(calls.length);
    for (const result of results) expect(result.isError).toBe(true);
  });
});
