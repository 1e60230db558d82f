import { describe, expect, it } from "vitest";
import { CompletionAssembler, mapUsage } from "../../src/providers/chat-completions/stream-assembler.js";
import { ProviderError } from "../../src/providers/index.js";
import { isContextOverflow } from "../../src/providers/types.js";

const delta = (d: Record<string, unknown>, finish: string | null = null) => ({ choices: [{ index: 0, delta: d, finish_reason: finish }] });

describe("CompletionAssembler", () => {
  it("assembles interleaved tool-call deltas by index", () => {
    const a = new CompletionAssembler();
    a.addChunk(delta({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "read", arguments: "" } }] }));
    a.addChunk(delta({ tool_calls: [{ index: 1, id: "c2", type: "function", function: { name: "ls", arguments: '{"p' } }] }));
    a.addChunk(delta({ tool_calls: [{ index: 0, function: { arguments: '{"f":' } }] }));
    a.addChunk(delta({ tool_calls: [{ index: 1, function: { arguments: 'ath":"."}' } }] }));
    a.addChunk(delta({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }));
    a.addChunk(delta({}, "tool_calls"));
    a.addChunk({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 5 } } });
    a.markDone();
    expect(a.finish()).toEqual({
      content: [
        { type: "tool_call", id: "c1", name: "read", arguments: '{"f":"x"}' },
        { type: "tool_call", id: "c2", name: "ls", arguments: '{"path":"."}' },
      ],
      usage: { inputTokens: 9, outputTokens: 4, cachedTokens: 5 },
      finishReason: "tool_calls",
    });
  });

  it("separates calls from servers that reuse index 0 with new ids, and defaults empty arguments to {}", () => {
    const a = new CompletionAssembler();
    a.addChunk(delta({ tool_calls: [{ index: 0, id: "x", function: { name: "one", arguments: "" } }] }));
    a.addChunk(delta({ tool_calls: [{ index: 0, id: "y", function: { name: "two", arguments: "{}" } }] }, "tool_calls"));
    const calls = a.finish().content;
    expect(calls).toEqual([
      { type: "tool_call", id: "x", name: "one", arguments: "{}" },
      { type: "tool_call", id: "y", name: "two", arguments: "{}" },
    ]);
  });

  it("turns an in-stream error object into a ProviderError by its code", () => {
    const a = new CompletionAssembler();
    expect(() => a.addChunk({ error: { message: "upstream overloaded", code: 502 } })).toThrow(/upstream overloaded/);
    expect(() => a.addChunk({ error: { message: "slow down", code: 429 } })).toThrow(
      expect.objectContaining({ kind: "rate_limited", status: 429 }),
    );
    expect(() => a.addChunk({ error: "plain string" })).toThrow(ProviderError);
  });

  it("an in-stream OpenRouter error carries the upstream provider's message (metadata.raw)", () => {
    const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" } });
    const chunk = { error: { message: "Provider returned error", code: 400, metadata: { raw, provider_name: "Anthropic" } } };
    let thrown: unknown;
    try {
      new CompletionAssembler().addChunk(chunk);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ kind: "bad_request", message: "the model reported an error: Anthropic (through OpenRouter): prompt is too long: 210000 tokens > 200000 maximum" });
    expect(isContextOverflow(thrown)).toBe(true);
  });

  it("rejects a cut-off stream as network and a filtered empty reply as bad_request", () => {
    const cut = new CompletionAssembler();
    cut.addChunk(delta({ content: "half" }));
    expect(() => cut.finish()).toThrow(expect.objectContaining({ kind: "network" }));

    const filtered = new CompletionAssembler();
    filtered.addChunk(delta({}, "content_filter"));
    expect(() => filtered.finish()).toThrow(expect.objectContaining({ kind: "bad_request" }));

    // Empty at the output limit (spent reasoning): an answer cut there, returned with its finish reason.
    const spent = new CompletionAssembler();
    spent.addChunk(delta({ reasoning: "weighing it" }, "length"));
    expect(spent.finish()).toMatchObject({ content: [], finishReason: "length" });
  });

  it("reads a usage chunk as the schema does: counts kept, a malformed count rejected", () => {
    const usageOf = (usage: unknown) => {
      const a = new CompletionAssembler();
      a.addChunk(delta({ content: "hi" }, "stop"));
      a.addChunk({ id: "x", choices: [], usage });
      return a.finish().usage;
    };
    expect(usageOf({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 })).toEqual({ inputTokens: 9, outputTokens: 4 });
    expect(usageOf({ prompt_tokens: 9, completion_tokens: null, prompt_tokens_details: { cached_tokens: 2 } })).toEqual({ inputTokens: 9, outputTokens: 0, cachedTokens: 2 });
    expect(usageOf(null)).toBeUndefined();
    for (const bad of [{ prompt_tokens: "9" }, { completion_tokens: true }, { prompt_tokens_details: 5 }, { prompt_tokens_details: { cached_tokens: "2" } }, [1], "usage"]) {
      expect(() => usageOf(bad), JSON.stringify(bad)).toThrow(/malformed stream chunk/);
    }
  });

  it("maps usage without cache details", () => {
    expect(mapUsage({ prompt_tokens: 3, completion_tokens: 1 })).toEqual({ inputTokens: 3, outputTokens: 1 });
  });
});
