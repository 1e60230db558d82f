import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { ENV, EXAMPLE_CONFIG } from "./helpers.js";

const example = (): Record<string, any> => JSON.parse(readFileSync(EXAMPLE_CONFIG, "utf8")) as Record<string, any>;
const errorsOf = (raw: unknown): string[] => {
  const result = parseConfig(raw, { env: ENV });
  return result.ok ? [] : result.errors;
};
const warningsOf = (raw: unknown): string[] => parseConfig(raw, { env: ENV }).warnings;

const model = (provider_type: string, capabilities: string[]) => ({
  provider_type,
  model_name: "m",
  url: "https://example.com/v1/x",
  capabilities,
});

describe("provider_type checks: a model the worker cannot run never loads silently", () => {
  it("accepts codex_subscription as a chat model, and refuses it with a URL it cannot connect to", () => {
    const raw = example();
    raw.models.codex = { ...model("codex_subscription", ["chat", "image_in"]), url: "https://chatgpt.com/backend-api/codex/responses", reasoning: { effort: "medium" } };
    expect(errorsOf(raw)).toEqual([]);
    raw.models.codex.api_key_env = "UNSET_CHATGPT_TOKEN"; // a fallback to auth.json, not a required key
    expect(errorsOf(raw)).toEqual([]);
    expect(warningsOf(raw).filter((w) => w.includes("UNSET_CHATGPT_TOKEN"))).toEqual([]);
    raw.models.codex.url = "ftp://chatgpt.com/backend-api/codex/responses";
    expect(errorsOf(raw)).toEqual([expect.stringMatching(/^models\.codex\.url: codex_subscription needs an https:\/\/, http:\/\/, wss:\/\/ or ws:\/\/ URL/)]);
    raw.models.codex = { provider_type: "codex_subscription", url: "https://chatgpt.com/backend-api/codex/responses" };
    expect(errorsOf(raw).some((e) => e.startsWith("models.codex.model_name"))).toBe(true);
  });

  it("reports an unknown provider_type once, as the bad value it is (not also as a model that cannot chat)", () => {
    const raw = example();
    raw.models.main.provider_type = "open_ruter_completion";
    const errors = errorsOf(raw);
    expect(errors.filter((e) => e.startsWith("models.main."))).toEqual([expect.stringMatching(/^models\.main\.provider_type: /)]);
    expect(errors.join("\n")).not.toMatch(/cannot chat/);
  });

  it("rejects a search or image model offered as a chat model, and a role its provider cannot play", () => {
    const raw = example();
    raw.models.brave = model("brave_search", ["chat", "web_search"]);
    raw.models.painter = model("openai_image", ["image_out"]);
    raw.session_defaults = { image_tool_model: "painter", pdf_tool_model: "brave" };
    expect(errorsOf(raw)).toEqual([
      'models.brave.capabilities: a "brave_search" model cannot chat; remove "chat" (use it as a session_defaults.*_tool_model)',
      'models.painter.provider_type: session_defaults.image_tool_model cannot use a "openai_image" model (use open_router_completion or open_router_responses or claude_code or codex_subscription)',
      'models.brave.provider_type: session_defaults.pdf_tool_model cannot use a "brave_search" model (use open_router_completion or open_router_responses or claude_code or codex_subscription)',
    ]);
  });

  it("loads a chat model as search or image generation model (upgraded PartyClaw configs) with a warning saying what happens", () => {
    const raw = example();
    raw.models.chatty = model("open_router_responses", ["chat", "web_search", "image_out"]);
    raw.session_defaults = { search_tool_model: "chatty", image_generation_tool_model: "chatty" };
    expect(errorsOf(raw)).toEqual([]);
    expect(warningsOf(raw)).toEqual(
      expect.arrayContaining([
        'models.chatty.provider_type: session_defaults.image_generation_tool_model needs a openai_image or openai_image_edit model, not "open_router_responses"; image_generation is not offered',
        'models.chatty.provider_type: session_defaults.search_tool_model needs a brave_search model, not "open_router_responses"; web_search uses the keyless fallback',
      ]),
    );
  });

  it("accepts every provider in a role it can play, inline or by alias", () => {
    const raw = example();
    raw.models.claude = model("claude_code", ["chat", "image_in", "pdf_in"]);
    raw.models.responses = model("open_router_responses", ["chat"]);
    raw.models.painter = model("openai_image_edit", ["image_out"]);
    raw.session_defaults = {
      search_tool_model: model("brave_search", ["web_search"]),
      image_tool_model: "claude",
      pdf_tool_model: "claude:self",
      image_generation_tool_model: "painter",
    };
    expect(errorsOf(raw)).toEqual([]);
  });
});
