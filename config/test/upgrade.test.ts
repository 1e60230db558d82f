import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VERSION, loadConfig, parseConfig, UPGRADE_STEPS, type LoadResult } from "../src/index.js";
import { detectVersion } from "../src/loaders/detect-version.js";
import { upgradeV01ToV02 } from "../src/loaders/v0_1-to-v0_2.js";
import { upgradeV02ToV03 } from "../src/loaders/v0_2-to-v0_3.js";
import { upgradeV03ToV04 } from "../src/loaders/v0_3-to-v0_4.js";
import { ENV, FIXTURES, filesNextTo, fixtureCopy, tempDir } from "./helpers.js";

type Json = Record<string, unknown>;
const readJson = (path: string): Json => JSON.parse(readFileSync(path, "utf8")) as Json;
const fixture = (name: string) => readJson(join(FIXTURES, name));

function expectOk(result: LoadResult) {
  if (!result.ok) throw new Error(`expected ok, got errors:\n${result.errors.join("\n")}`);
  return result;
}

/** Loads a fixture copy and checks the upgrade contract: .bak holds the original bytes, the file is rewritten. */
function loadUpgraded(name: string, from: string) {
  const path = fixtureCopy(name);
  const original = readFileSync(path, "utf8");
  const result = expectOk(loadConfig(path, { env: ENV }));
  expect(result.upgradedFrom).toBe(from);
  expect(result.backupPath).toBe(`${path}.bak`);
  expect(filesNextTo(path)).toEqual(["config.json", "config.json.bak"]);
  expect(readFileSync(`${path}.bak`, "utf8")).toBe(original);
  const rewritten = readJson(path);
  expect(rewritten.version).toBe(CONFIG_VERSION);
  // The rewritten file loads as the latest version with no upgrade and no further warnings about it.
  const again = expectOk(loadConfig(path, { env: ENV }));
  expect(again.upgradedFrom).toBeUndefined();
  expect(filesNextTo(path)).toHaveLength(2);
  return { result, rewritten, path };
}

describe("version detection", () => {
  it("treats a missing version as the oldest known", () => {
    expect(detectVersion({})).toEqual({ kind: "native", version: "0.1", assumed: true });
    expect(detectVersion({ version: "0.3" })).toEqual({ kind: "native", version: "0.3", assumed: false });
    expect(detectVersion({ version: "0.28" })).toEqual({ kind: "partyclaw" });
    expect(detectVersion({ version: "0.5" })).toEqual({ kind: "newer", version: "0.5" });
    expect(detectVersion({ version: "1.0" })).toEqual({ kind: "newer", version: "1.0" });
    expect(detectVersion({ version: "banana" })).toEqual({ kind: "unsupported", version: "banana" });
  });

  it("chains the steps 0.1 → 0.2 → 0.3 → 0.4", () => {
    expect(UPGRADE_STEPS.map((s) => `${s.from}→${s.to}`)).toEqual(["0.1→0.2", "0.2→0.3", "0.3→0.4"]);
  });

  it("refuses a version newer than known", () => {
    const raw = { ...fixture("stellaclaw-0.4-example_config.json"), version: "0.5" };
    const result = parseConfig(raw, { env: ENV });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([`version: "0.5" is newer than this Starling understands (latest "0.4"); upgrade Starling (an older PartyClaw config must be upgraded to PartyClaw 0.28 first)`]);
    const newer = parseConfig({ ...raw, version: "1.2" });
    expect(!newer.ok && newer.errors).toEqual([`version: "1.2" is newer than this Starling understands (latest "0.4"); upgrade Starling`]);
  });

  it("refuses a newer config file without touching it", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify({ ...fixture("stellaclaw-0.4-example_config.json"), version: "2.0" }));
    const before = readFileSync(path, "utf8");
    expect(loadConfig(path, { env: ENV }).ok).toBe(false);
    expect(readFileSync(path, "utf8")).toBe(before);
    expect(filesNextTo(path)).toEqual(["config.json"]);
  });

  it("does not rewrite an old config that fails validation", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify({ ...fixture("v0.3.json"), channels: [] }));
    const result = loadConfig(path, { env: ENV });
    expect(!result.ok && result.errors).toEqual(["channels: at least one channel is required"]);
    expect(filesNextTo(path)).toEqual(["config.json"]);
  });
});

describe("0.1 → 0.2", () => {
  it("step: only the version changes (input untouched)", () => {
    const input = fixture("v0.1-no-version.json");
    const { config, notes } = upgradeV01ToV02(input);
    expect(config).toEqual({ ...input, version: "0.2" });
    expect(input.version).toBeUndefined();
    expect(notes).toEqual([]);
  });

  it("fixture without a version (and the named_models alias) loads, upgrades and writes the .bak", () => {
    const { result, rewritten } = loadUpgraded("v0.1-no-version.json", "0.1");
    expect(result.warnings).toContain('version: missing; treated as "0.1"');
    expect(result.config.models.main?.model_name).toBe("claude-sonnet-4-5");
    expect(rewritten.models).toBeDefined();
    expect(rewritten.named_models).toBeUndefined();
  });
});

describe("0.2 → 0.3", () => {
  it("step: an inline tool model equal to a named model becomes its alias", () => {
    const input = fixture("v0.2-inline-tool-model.json");
    const { config, notes } = upgradeV02ToV03(input);
    const defaults = config.session_defaults as Json;
    expect(defaults.search_tool_model).toBe("search");
    expect(defaults.image_tool_model).toMatchObject({ model_name: "openai/gpt-4.1" });
    expect(config.version).toBe("0.3");
    expect(notes).toEqual(['session_defaults.search_tool_model: inline model replaced by its alias "search"']);
    expect((input.session_defaults as Json).search_tool_model).toBeTypeOf("object");
  });

  it("fixture loads, upgrades and writes the .bak", () => {
    const { result, rewritten } = loadUpgraded("v0.2-inline-tool-model.json", "0.2");
    expect(result.config.session_defaults.search_tool_model).toBe("search");
    expect((rewritten.session_defaults as Json).search_tool_model).toBe("search");
  });

  it("a 0.2 file with PartyClaw-style models is converted", () => {
    const { result, rewritten } = loadUpgraded("v0.2-compact.json", "0.2");
    const { config } = result;
    expect(config.models.main).toMatchObject({
      provider_type: "open_router_completion",
      model_name: "openai/gpt-4.1-mini",
      url: "https://openrouter.ai/api/v1/chat/completions",
      capabilities: ["chat", "image_in"],
      token_max_context: 128000,
      retry_mode: "once",
      multimodal_input: { image: { supported_media_types: ["image/png"], max_width: 2048 } },
    });
    expect(config.models.search?.url).toBe("https://api.search.brave.com/res/v1/web/search");
    expect(config.session_defaults).toMatchObject({
      compression_threshold_tokens: 100000,
      compression_retain_recent_tokens: 25000,
      search_tool_model: "search",
    });
    expect(config.channels[0]).toMatchObject({ kind: "telegram", admin_user_ids: [42] });
    expect(rewritten.available_models).toBeUndefined();
    expect((rewritten.models as Json).main).not.toHaveProperty("api_endpoint");
  });
});

describe("0.3 → 0.4", () => {
  it("step: only the version changes", () => {
    const input = fixture("v0.3.json");
    expect(upgradeV03ToV04(input)).toEqual({ config: { ...input, version: "0.4" }, notes: [] });
  });

  it("fixture loads, upgrades and writes the .bak, keeping Starling sections", () => {
    const { result, rewritten } = loadUpgraded("v0.3.json", "0.3");
    expect(result.config.sandbox).toMatchObject({ mode: "bubblewrap", software_dir: "/srv/tools", software_mount_path: "/opt" });
    expect(result.config.workers).toEqual({ idle_shutdown_seconds: 600, max_concurrent_turns: 2, max_subagents: 3, warm_spares: 1 });
    expect(result.config.session_defaults.image_tool_model).toBe("local:self");
    expect(rewritten.workers).toEqual({ max_concurrent_turns: 2 });
  });

  it("a second upgrade of the same file gets a numbered .bak", () => {
    const path = fixtureCopy("v0.3.json");
    const original = readFileSync(path);
    expectOk(loadConfig(path, { env: ENV }));
    writeFileSync(path, original);
    expect(expectOk(loadConfig(path, { env: ENV })).backupPath).toBe(`${path}.1.bak`);
  });
});

const WEB_NOTE =
  "channels.1: PartyClaw web channel converted to a Starling web channel on 127.0.0.1:8080, token from CLAWPARTY_WEB_AUTH_TOKEN; its page and HTTP API are Starling's (docs/ARCHITECTURE.md §11), so PartyClaw web clients need changing; remove the channel if you do not want it";

describe("PartyClaw 0.28", () => {
  it("converts models, tooling, compression, sandbox and channels", () => {
    const { result } = loadUpgraded("partyclaw-0.28.json", "0.28");
    const { config, warnings } = result;
    expect(config.models.main).toMatchObject({
      provider_type: "open_router_completion",
      url: "https://openrouter.ai/api/v1/chat/completions",
      api_key_env: "OPENROUTER_API_KEY",
      capabilities: ["chat", "image_in", "pdf_in"],
      token_max_context: 100000,
      cache_timeout: 3600,
      conn_timeout: 13,
      retry_mode: { random_interval: { max_interval_secs: 2, max_retries: 3 } },
      reasoning: { effort: "high" },
      token_estimator_type: "hugging_face",
      token_estimator_url: "https://huggingface.co/openai/gpt-4o/raw/main/tokenizer_config.json",
    });
    expect(Object.keys(config.models.main?.multimodal_input ?? {})).toEqual(["image", "pdf"]);
    expect(config.session_defaults).toMatchObject({
      compression_threshold_tokens: 80000,
      compression_retain_recent_tokens: 16000,
      search_tool_model: "brave",
      image_tool_model: "main",
    });
    expect(config.sandbox.mode).toBe("subprocess");
    expect(config.channels.map((c) => c.id)).toEqual(["telegram-main", "web-main"]);
    expect(warnings).toContain(WEB_NOTE);
  });

  it("converts a web channel to Starling's (same address and token variable); an inline token is not copied; other kinds are dropped", () => {
    const raw = fixture("partyclaw-0.28.json");
    raw.channels = [
      { kind: "telegram", id: "telegram-main", bot_token_env: "TG_TOKEN" },
      { kind: "web", id: "web-main", listen_addr: "0.0.0.0:9000", auth_token_env: "PC_WEB_TOKEN", auth_token: "inline-web-secret" },
      { kind: "dingtalk", id: "ding" },
    ];
    const path = fixtureCopy("partyclaw-0.28.json");
    writeFileSync(path, JSON.stringify(raw));
    const tokenNote = "channels.1.auth_token: not copied (Starling reads secrets only from the environment); put the token in the env file (starling.env next to the config) as PC_WEB_TOKEN=…";
    const refused = loadConfig(path, { env: ENV });
    expect(!refused.ok && refused.errors).toEqual([
      "channels.1.token_env: environment variable PC_WEB_TOKEN is not set; add a line PC_WEB_TOKEN=… to the env file (starling.env next to the config, or --env-file) or export it",
    ]);
    expect(refused.warnings).toEqual(expect.arrayContaining([tokenNote, "channels.2: dingtalk channel dropped (Starling has telegram and web channels)"]));
    expect(JSON.stringify(refused)).not.toContain("inline-web-secret");

    const result = expectOk(loadConfig(path, { env: { ...ENV, PC_WEB_TOKEN: "web-secret" } }));
    expect(result.config.channels[1]).toEqual({ kind: "web", id: "web-main", bind_addr: "0.0.0.0:9000", token_env: "PC_WEB_TOKEN" });
    expect(result.config.channels.map((c) => c.id)).toEqual(["telegram-main", "web-main"]);
    expect(result.warnings).toContain(
      "channels.1: PartyClaw web channel converted to a Starling web channel on 0.0.0.0:9000, token from PC_WEB_TOKEN; its page and HTTP API are Starling's (docs/ARCHITECTURE.md §11), so PartyClaw web clients need changing; remove the channel if you do not want it",
    );
    expect(readFileSync(path, "utf8")).not.toContain("inline-web-secret");
  });

  it("refuses what Starling cannot convert, listing every problem", () => {
    const raw = fixture("partyclaw-0.28.json");
    const models = raw.models as Record<string, Json>;
    models.main!.headers = { "X-Key": "1" };
    models.brave!.type = "duckduckgo";
    raw.sandbox = { map_docker_socket: true };
    raw.tooling = { web_search: "brave", pdf: "nothing" };
    const result = parseConfig(raw, { env: ENV });
    expect(!result.ok && result.errors).toEqual([
      "sandbox.map_docker_socket: not supported by Starling",
      "models.main.headers: custom headers are not supported",
      "models.brave.type: must be one of openrouter, openrouter-resp, codex-subscription, claude-code, brave-search",
      'tooling.pdf: unknown model alias "nothing"',
    ]);
  });
});
