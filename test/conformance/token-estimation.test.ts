// token_estimator_type through the worker: an OpenAI model's context is counted with its real
// tokenizer, so text the ~4-characters heuristic under-counts still triggers compaction.
import { describe, expect, it } from "vitest";
import { modelConfig, newEnv, userMessage } from "./harness.js";
import { isSummaryRequest } from "./model-script.js";

// o200k counts " a" as one token: 1200 characters are ~600 tokens, the heuristic says ~300.
const dense = "a ".repeat(600);
const compression = { thresholdTokens: 450, retainRecentTokens: 10 };

describe.concurrent("token estimation by model", () => {
  for (const [modelName, compacts] of [
    ["gpt-4o", true],
    ["fake-model", false],
  ] as const) {
    it(`${modelName}: ${compacts ? "the tokenizer sees the threshold passed and compacts" : "the heuristic stays under the threshold"}`, async (ctx) => {
      const { fake, start } = await newEnv(ctx, {
        responder: (req) => (isSummaryRequest(req) ? { text: "- the user sent a long line of a's" } : { text: "ok" }),
      });
      const w = await start({ init: { compression, model: { ...modelConfig(fake.url), model_name: modelName } } });
      await w.client.enqueue(userMessage("m1", dense));
      await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
      await w.client.enqueue(userMessage("m2", "and now?"));
      await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
      expect(w.eventsOf("compacted").length > 0).toBe(compacts);
      expect(fake.requests.some(isSummaryRequest)).toBe(compacts);
    });
  }
});
