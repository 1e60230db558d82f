import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "@starling/config";
import { resolveToolModels } from "../../src/conversations/tool-models.js";

// The Stellaclaw 0.4 reference config: a `search_brave` model named by `search_tool_model`.
const EXAMPLE = new URL("../../../../config/test/fixtures/stellaclaw-0.4-example_config.json", import.meta.url).pathname;

function load(sessionDefaults: Record<string, unknown>) {
  const raw = JSON.parse(readFileSync(EXAMPLE, "utf8")) as Record<string, unknown>;
  raw["session_defaults"] = { ...(raw["session_defaults"] as object), ...sessionDefaults };
  const result = parseConfig(raw, { env: {}, checkSecrets: false });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

describe("helper models for initialize.helperModels", () => {
  it("resolves aliases and inline models by field name and leaves :self to the worker", () => {
    const inline = { provider_type: "claude_code", model_name: "claude-x", url: "https://api.anthropic.com/v1/messages", capabilities: ["chat", "pdf_in"] };
    const config = load({ image_tool_model: "main:self", pdf_tool_model: inline });
    const helpers = resolveToolModels(config);
    expect(Object.keys(helpers).sort()).toEqual(["pdf_tool_model", "search_tool_model"]);
    expect(helpers["search_tool_model"]).toMatchObject({ provider_type: "brave_search", api_key_env: "BRAVE_SEARCH_API_KEY" });
    expect(helpers["pdf_tool_model"]).toMatchObject({ provider_type: "claude_code", model_name: "claude-x" });
  });
});
