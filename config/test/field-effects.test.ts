// Fields that are accepted must do something: a value that would do nothing is refused at load, naming the field.
import { describe, expect, it } from "vitest";
import { errorsOf, loadEdited } from "./helpers.js";

const alt = { provider_type: "open_router_completion", model_name: "alt-model", url: "https://openrouter.ai/api/v1/chat/completions", api_key_env: "OPENROUTER_API_KEY" };
const brave = { provider_type: "brave_search", model_name: "brave", url: "https://api.search.brave.com/res/v1/web/search", api_key_env: "BRAVE_SEARCH_API_KEY", capabilities: ["web_search"] };

describe("default_profile.main_model", () => {
  it("loads a chat model's alias", () => {
    const result = loadEdited((raw) => {
      raw.models.alt = alt;
      raw.default_profile = { main_model: "alt" };
    });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.config.default_profile?.main_model).toBe("alt");
  });

  it("refuses an unknown alias, naming the chat models and the alias of a model_name", () => {
    expect(errorsOf(loadEdited((raw) => void (raw.default_profile = { main_model: "nosuch" })))).toEqual([
      'default_profile.main_model: unknown model alias "nosuch" (chat models: main)',
    ]);
    expect(errorsOf(loadEdited((raw) => void (raw.default_profile = { main_model: "openai/gpt-4.1-mini" })))).toEqual([
      'default_profile.main_model: unknown model alias "openai/gpt-4.1-mini" (chat models: main); "openai/gpt-4.1-mini" is the model_name of models.main, use its alias "main"',
    ]);
  });

  it("refuses a model that cannot chat and an inline model", () => {
    const notChat = loadEdited((raw) => {
      raw.models.search = brave;
      raw.default_profile = { main_model: "search" };
    });
    expect(errorsOf(notChat)).toEqual(['default_profile.main_model: models.search cannot chat (no "chat" capability); name a chat model (chat models: main)']);
    expect(errorsOf(loadEdited((raw) => void (raw.default_profile = { main_model: alt })))).toEqual([
      "default_profile.main_model: must be the alias of a chat model in models (an inline model: define it under models and name its alias here)",
    ]);
  });
});

describe("model fields a provider type never reads", () => {
  it("refuses reasoning, multimodal settings and stream_idle_timeout on a search or image model", () => {
    const result = loadEdited((raw) => {
      raw.models.search = { ...brave, reasoning: { effort: "high" }, stream_idle_timeout: 60 };
      raw.models.images = {
        provider_type: "openai_image",
        model_name: "gpt-image-1",
        url: "https://api.openai.com/v1",
        api_key_env: "OPENROUTER_API_KEY",
        capabilities: ["image_out"],
        multimodal_input: { image: { transport: "inline_base64" } },
      };
    });
    expect(errorsOf(result)).toEqual([
      'models.search.reasoning: "brave_search" models do not use it (it only matters for chat models); remove it',
      'models.search.stream_idle_timeout: "brave_search" models do not use it (it only matters for chat models); remove it',
      'models.images.multimodal_input: "openai_image" models do not use it (it only matters for chat models); remove it',
    ]);
  });

  it("refuses a cache_timeout a Claude model cannot have; 300 and 3600 load", () => {
    const claude = { provider_type: "claude_code", model_name: "claude-sonnet-4-5", url: "https://api.anthropic.com/v1/messages", api_key_env: "ANTHROPIC_API_KEY" };
    expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, cache_timeout: 600 })))).toEqual([
      "models.claude.cache_timeout: Anthropic's prompt cache lives 300 or 3600 seconds, not 600; set 300 or 3600, or remove it for no caching",
    ]);
    expect(loadEdited((raw) => void (raw.models.claude = { ...claude, cache_timeout: 3600 })).ok).toBe(true);
  });

  it("warns that a hugging_face token estimator is not used", () => {
    const result = loadEdited((raw) => {
      raw.models.main!.token_estimator_type = "hugging_face";
      raw.models.main!.token_estimator_url = "https://huggingface.co/x/tokenizer.json";
    });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([
      'models.main.token_estimator_type: Starling does not download tokenizers ("hugging_face" and token_estimator_url are not used); token counts are about 4 characters per token, or the model\'s own tokenizer with "local" on OpenAI-family models',
    ]);
  });
});

describe("max_output_tokens (a model's output limit)", () => {
  const claude = { provider_type: "claude_code", model_name: "claude-sonnet-4-5", url: "https://api.anthropic.com/v1/messages", api_key_env: "ANTHROPIC_API_KEY" };
  const responses = { provider_type: "open_router_responses", model_name: "openai/gpt-5", url: "https://openrouter.ai/api/v1/responses", api_key_env: "OPENROUTER_API_KEY" };

  it("loads on every API-key chat model, as a whole number of tokens", () => {
    const result = loadEdited((raw) => {
      raw.models.main!.max_output_tokens = 16000;
      raw.models.resp = { ...responses, max_output_tokens: 32000 };
      raw.models.claude = { ...claude, max_output_tokens: 8192 };
    });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([]);
    expect([result.config.models.main!.max_output_tokens, result.config.models.resp!.max_output_tokens, result.config.models.claude!.max_output_tokens]).toEqual([16000, 32000, 8192]);
  });

  it("refuses what is not a positive whole number, naming the field", () => {
    expect(errorsOf(loadEdited((raw) => void (raw.models.main!.max_output_tokens = 0)))).toEqual([
      "models.main.max_output_tokens: must be at least 1 (leave it out for the provider's default)",
    ]);
    expect(errorsOf(loadEdited((raw) => void (raw.models.main!.max_output_tokens = 1.5)))).toEqual(["models.main.max_output_tokens: must be a whole number of tokens, e.g. 8192"]);
    expect(errorsOf(loadEdited((raw) => void (raw.models.main!.max_output_tokens = "4k")))).toEqual(["models.main.max_output_tokens: must be a whole number of tokens, e.g. 8192"]);
  });

  it("refuses it where nothing reads it: search and image models, and the Codex backend, which refuses the parameter", () => {
    const result = loadEdited((raw) => {
      raw.models.search = { ...brave, max_output_tokens: 100 };
      raw.models.codex = { provider_type: "codex_subscription", model_name: "gpt-5-codex", url: "https://chatgpt.com/backend-api/codex/responses", max_output_tokens: 100 };
    });
    expect(errorsOf(result)).toEqual([
      'models.search.max_output_tokens: "brave_search" models do not use it (it only matters for chat models); remove it',
      'models.codex.max_output_tokens: the ChatGPT Codex backend refuses an output limit ("Unsupported parameter: max_output_tokens") and sets its own; remove it',
    ]);
  });

  it("claude_code: reasoning.max_tokens is the extended-thinking budget, at least 1024 and below the output limit", () => {
    const ok = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { max_tokens: 4096 }, max_output_tokens: 16000 }));
    if (!ok.ok) throw new Error(ok.errors.join("\n"));
    expect(ok.warnings).toEqual([]);
    const defaulted = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { max_tokens: 2048 } }));
    if (!defaulted.ok) throw new Error(defaulted.errors.join("\n"));
    expect(defaulted.warnings).toEqual([
      "models.claude.reasoning.max_tokens: turns on extended thinking with a budget of 2048 tokens (Starling 0.15 and older read it as the output limit); a reply, thinking included, stops at the default 4096 tokens: set max_output_tokens to say how many",
    ]);
    expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { max_tokens: 8192 } })))).toEqual([
      'models.claude.reasoning.max_tokens: the extended-thinking budget (8192) must be below the default output limit (4096; max_output_tokens is not set), which the thinking counts against; set max_output_tokens higher (e.g. 16384) or the budget lower. (Starling 0.15 and older read reasoning.max_tokens as the output limit: for that, write "max_output_tokens": 8192 and remove reasoning.max_tokens.)',
    ]);
    expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { max_tokens: 8192 }, max_output_tokens: 4000 })))).toEqual([
      'models.claude.reasoning.max_tokens: the extended-thinking budget (8192) must be below max_output_tokens (4000), which the thinking counts against; set max_output_tokens higher (e.g. 16384) or the budget lower. (Starling 0.15 and older read reasoning.max_tokens as the output limit: for that, write "max_output_tokens": 8192 and remove reasoning.max_tokens.)',
    ]);
    for (const bad of [500, 2048.5, "2048"]) {
      expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { max_tokens: bad }, max_output_tokens: 8192 })))).toEqual([
        "models.claude.reasoning.max_tokens: the extended-thinking budget must be a whole number of tokens, at least 1024 (Anthropic's minimum), e.g. 4096; remove it for no thinking",
      ]);
    }
  });

  it("claude_code: reasoning keys besides max_tokens do nothing there (a warning)", () => {
    const result = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { effort: "high" } }));
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([
      'models.claude.reasoning: effort not used by claude_code models (only type "adaptive" or max_tokens, the extended-thinking budget); remove it (Anthropic\'s effort is the model\'s own field: "effort": "medium")',
    ]);
    const copied = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { budget_tokens: 4096 } }));
    if (!copied.ok) throw new Error(copied.errors.join("\n"));
    expect(copied.warnings).toEqual([
      'models.claude.reasoning: budget_tokens not used by claude_code models (only type "adaptive" or max_tokens, the extended-thinking budget); remove it (the manual thinking budget is written max_tokens here)',
    ]);
  });

  it('claude_code: reasoning {"type": "adaptive"} is adaptive thinking, without a budget; other types are refused', () => {
    const ok = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { type: "adaptive" }, max_output_tokens: 16000 }));
    if (!ok.ok) throw new Error(ok.errors.join("\n"));
    expect(ok.warnings).toEqual([]);
    const defaulted = loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { type: "adaptive" } }));
    if (!defaulted.ok) throw new Error(defaulted.errors.join("\n"));
    expect(defaulted.warnings).toEqual([
      "models.claude.reasoning: adaptive thinking counts against the reply's output limit, by default 4096 tokens (max_output_tokens is not set): set max_output_tokens to say how many, e.g. 16000",
    ]);
    expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { type: "adaptive", max_tokens: 4096 }, max_output_tokens: 16000 })))).toEqual([
      'models.claude.reasoning: adaptive thinking has no budget: remove max_tokens (and set max_output_tokens for the reply\'s limit, thinking included), or remove "type": "adaptive" for manual thinking with that budget',
    ]);
    for (const bad of ["enabled", "auto", 1]) {
      expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, reasoning: { type: bad, max_tokens: 4096 }, max_output_tokens: 16000 })))).toEqual([
        `models.claude.reasoning.type: ${JSON.stringify(bad)} is not a thinking mode Starling sends; write "adaptive" (Claude decides when and how much to think; Claude Opus 4.7 and newer take only this), or leave type out and set max_tokens for manual extended thinking with that budget (older models)`,
      ]);
    }
  });
});

describe("effort (Anthropic's output_config.effort)", () => {
  const claude = { provider_type: "claude_code", model_name: "claude-opus-4-6", url: "https://api.anthropic.com/v1/messages", api_key_env: "ANTHROPIC_API_KEY" };

  it("loads on a claude_code model, one of Anthropic's levels", () => {
    const result = loadEdited((raw) => void (raw.models.claude = { ...claude, effort: "medium" }));
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([]);
    expect(result.config.models["claude"]!.effort).toBe("medium");
    expect(errorsOf(loadEdited((raw) => void (raw.models.claude = { ...claude, effort: "extreme" })))).toEqual([
      'models.claude.effort: must be "low", "medium", "high", "xhigh" or "max" (Anthropic\'s effort levels; "high" is the API\'s default)',
    ]);
  });

  it("is refused on every other provider type, naming the field and what to write instead", () => {
    const result = loadEdited((raw) => {
      raw.models.main!.effort = "low";
      raw.models.search = { ...brave, effort: "low" };
    });
    expect(errorsOf(result)).toEqual([
      'models.main.effort: only claude_code models use it (Anthropic\'s output_config.effort), not "open_router_completion" ones; remove it (an OpenAI-style reasoning effort is written "reasoning": {"effort": "medium"})',
      'models.search.effort: only claude_code models use it (Anthropic\'s output_config.effort), not "brave_search" ones; remove it',
    ]);
  });
});

describe("log.audit", () => {
  it("loads rotation limits and refuses ones that cannot work, naming the field", () => {
    const result = loadEdited((raw) => void (raw.log = { audit: { max_file_mb: 0.5, keep_files: 0 } }));
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.config.log.audit).toEqual({ max_file_mb: 0.5, keep_files: 0 });
    const defaults = loadEdited(() => undefined);
    if (!defaults.ok) throw new Error(defaults.errors.join("\n"));
    expect(defaults.config.log.audit).toEqual({ max_file_mb: 16, keep_files: 4 });
    const bad = errorsOf(loadEdited((raw) => void (raw.log = { audit: { max_file_mb: 0, keep_files: 1.5 } })));
    expect(bad.some((e) => e.startsWith("log.audit.max_file_mb"))).toBe(true);
    expect(bad.some((e) => e.startsWith("log.audit.keep_files"))).toBe(true);
  });
});
