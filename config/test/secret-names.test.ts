// The config's secret names: every *_env field, wherever it is, so redaction and the worker env cover them.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, secretEnvNames, secretValues, type StarlingConfig } from "../src/index.js";
import { ENV, FIXTURES } from "./helpers.js";

function load(name: string): StarlingConfig {
  const result = loadConfig(join(FIXTURES, name), { env: ENV, writeUpgrade: false });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

describe("secretEnvNames", () => {
  it("finds bot tokens, model keys and inline tool-model keys; never sandbox.env entries", () => {
    const config = load("stellaclaw-0.4-example_config.json");
    config.sandbox.env = { HARMLESS_ENV: "x" };
    config.session_defaults.pdf_tool_model = { ...config.models[Object.keys(config.models)[0]!]!, api_key_env: "INLINE_PDF_KEY" };
    const names = secretEnvNames(config);
    expect(names).toEqual(expect.arrayContaining(["TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "BRAVE_SEARCH_API_KEY", "INLINE_PDF_KEY"]));
    expect(names).not.toContain("x");
    expect(secretValues(config, { ...ENV, UNRELATED: "u" })).toMatchObject({
      TELEGRAM_BOT_TOKEN: ENV.TELEGRAM_BOT_TOKEN,
      OPENROUTER_API_KEY: ENV.OPENROUTER_API_KEY,
    });
    expect(Object.keys(secretValues(config, ENV))).not.toContain("UNRELATED");
  });
});
