import type { ModelConfig, TranscriptMessage } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { pngHeaderOfSize } from "../../../../test/fixtures/media-files.js";
import { compactionSplit } from "../../src/session/context-window.js";
import { estimateTokens, heuristicEstimator, openAIEncoding, tokenEstimatorFor } from "../../src/tokens/estimator.js";
import { fileTokenCounter } from "../../src/tokens/image-tokens.js";

const model = (model_name: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  provider_type: "open_router_completion",
  model_name,
  url: "http://127.0.0.1:1/v1/chat/completions",
  capabilities: ["chat"],
  ...extra,
});

let index = 0;
const msg = (role: TranscriptMessage["role"], content: TranscriptMessage["content"]): TranscriptMessage => ({ index: index++, role, time: "t", content });
const text = (role: TranscriptMessage["role"], t: string) => msg(role, [{ type: "text", text: t }]);

describe("token estimation", () => {
  it("picks the tokenizer by OpenAI model name and the heuristic for other families", () => {
    expect(openAIEncoding("gpt-4o-mini")).toBe("o200k_base");
    expect(openAIEncoding("openai/gpt-4.1:free")).toBe("o200k_base");
    expect(openAIEncoding("o3-mini")).toBe("o200k_base");
    expect(openAIEncoding("gpt-4-turbo")).toBe("cl100k_base");
    expect(openAIEncoding("anthropic/claude-sonnet-4")).toBeUndefined();
    expect(tokenEstimatorFor(model("openai/gpt-4o")).name).toBe("o200k_base");
    expect(tokenEstimatorFor(model("claude-sonnet-4-5")).name).toBe("heuristic");
    expect(tokenEstimatorFor(model("gpt-4o", { token_estimator_type: "hugging_face" })).name).toBe("heuristic");
  });

  it("counts real tokens for OpenAI models where the heuristic is off by 2x", () => {
    const spaced = text("user", "a ".repeat(1000));
    const gpt = tokenEstimatorFor(model("gpt-4o"));
    // o200k: " a" is one token → ~1000; the heuristic says 2000 chars / 4 = 500.
    expect(gpt.messageTokens(spaced)).toBeGreaterThanOrEqual(990);
    expect(heuristicEstimator.messageTokens(spaced)).toBe(504);
    expect(gpt.messageTokens(text("user", "hello world"))).toBe(4 + 2);
    const call = msg("assistant", [{ type: "tool_call", id: "c", name: "shell", arguments: '{"command":"ls"}' }]);
    expect(gpt.messageTokens(call)).toBeGreaterThan(4);
  });

  it("splits a long session by real tokens: more messages stay verbatim under the heuristic", () => {
    const session: TranscriptMessage[] = [];
    for (let i = 0; i < 200; i++) {
      session.push(text("user", `question ${i}: ${"a ".repeat(100)}`), text("assistant", `answer ${i}`));
    }
    const gpt = tokenEstimatorFor(model("gpt-4.1"));
    expect(estimateTokens(session, gpt)).toBeGreaterThan(estimateTokens(session, heuristicEstimator) * 1.5);
    const byTokenizer = compactionSplit(session, 2000, gpt);
    const byHeuristic = compactionSplit(session, 2000, heuristicEstimator);
    expect(byTokenizer).toBeGreaterThan(byHeuristic);
    expect(estimateTokens(session.slice(byTokenizer), gpt)).toBeGreaterThanOrEqual(2000);
    expect(estimateTokens(session.slice(byTokenizer + 2), gpt)).toBeLessThan(2000);
  });

  it("counts images per multimodal_estimator.image (reference §5.2)", () => {
    const file = (uri: string, mediaType = "image/png") => ({ type: "file" as const, uri, mediaType });
    const big = file(pngHeaderOfSize(1024, 1024));
    const count = (image: unknown, f = big) => fileTokenCounter(model("m", { multimodal_estimator: { image } }))(f);
    expect(count(undefined)).toBe(256);
    expect(count("ignore")).toBe(0);
    expect(count({ fixed_tokens: { tokens_per_file: 85 } })).toBe(85);
    expect(count({ patch_grid: { patch_size: 32, patch_budget: 1536, multiplier: 1.62 } })).toBe(1659);
    expect(count({ patch_grid: { patch_size: 32, patch_budget: 4096, multiplier: 1 } })).toBe(1024);
    const tile = { low_detail_tokens: 85, base_tokens: 85, tokens_per_tile: 170, max_dimension: 2048, target_shortest_side: 768, tile_size: 512 };
    expect(count({ tile_grid: tile })).toBe(85 + 4 * 170);
    expect(count({ tile_grid: { ...tile, detail: "low" } })).toBe(85);
    expect(count({ area_approx: { pixels_per_token: 750, max_tokens: 1600, max_long_edge: 1568, pad_to_multiple: 28 } }, file(pngHeaderOfSize(1000, 500)))).toBe(
      Math.round((1008 * 504) / 750),
    );
    // No readable size → 0, as the reference; PDFs under a size strategy → the flat default.
    expect(count({ patch_grid: { patch_size: 32, patch_budget: 1536, multiplier: 1 } }, file("file:///nonexistent.png"))).toBe(0);
    expect(count({ patch_grid: { patch_size: 32, patch_budget: 1536, multiplier: 1 } }, file("file:///x.pdf", "application/pdf"))).toBe(256);
  });
});
