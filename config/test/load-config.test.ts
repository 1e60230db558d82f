import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VERSION, loadConfig, parseConfig, type LoadResult } from "../src/index.js";
import { ENV, EXAMPLE_CONFIG, FIXTURES, filesNextTo, fixtureCopy, tempDir } from "./helpers.js";

function expectOk(result: LoadResult) {
  if (!result.ok) throw new Error(`expected ok, got errors:\n${result.errors.join("\n")}`);
  return result;
}
function expectErrors(result: LoadResult): string[] {
  if (result.ok) throw new Error("expected errors, got ok");
  return result.errors;
}
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

describe("loadConfig: the Stellaclaw 0.4 reference config", () => {
  it("loads unchanged, warning only that agent_server.path does not exist", () => {
    const path = fixtureCopy("stellaclaw-0.4-example_config.json");
    const before = readFileSync(path, "utf8");
    const result = expectOk(loadConfig(path, { env: ENV }));
    expect(result.upgradedFrom).toBeUndefined();
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^agent_server\.path: target\/debug\/agent_server .* not found; using the bundled worker$/);
    expect(readFileSync(path, "utf8")).toBe(before);
    expect(filesNextTo(path)).toEqual(["config.json"]);

    const { config } = result;
    expect(config.version).toBe(CONFIG_VERSION);
    expect(config.agent_server?.path).toBeUndefined();
    expect(Object.keys(config.models)).toEqual(["main", "search_brave"]);
    expect(config.models.main?.capabilities).toEqual(["chat", "image_in", "pdf_in", "audio_in"]);
    expect(config.session_defaults.search_tool_model).toBe("search_brave");
    expect(config.sandbox).toEqual({
      mode: "subprocess",
      env: {},
      network: true,
      hidden_paths: [],
      pid_namespace: true,
      bubblewrap_binary: "bwrap",
      software_dir: undefined,
      software_mount_path: "/opt",
      memory_limit_mb: 4096,
      cpu_limit_seconds: null,
      file_size_limit_mb: null,
    });
    expect(config.channels[0]).toMatchObject({ id: "telegram-main", allowed_chat_ids: [], admin_user_ids: [] });
    expect(config.workers).toEqual({ idle_shutdown_seconds: 600, max_concurrent_turns: 4, max_subagents: 3, warm_spares: 1 });
    expect(config.recovery).toEqual({ max_auto_continues: 2 });
    expect(config.log).toEqual({ level: "info", file: undefined, audit: { max_file_mb: 16, keep_files: 4 } });
  });

  it("uses an existing agent_server.path, resolved against the config's directory", () => {
    const path = fixtureCopy("stellaclaw-0.4-example_config.json");
    const worker = join(path, "..", "worker.js");
    writeFileSync(worker, "");
    const raw = readJson(path);
    raw.agent_server = { path: "worker.js" };
    writeFileSync(path, JSON.stringify(raw));
    const result = expectOk(loadConfig(path, { env: ENV }));
    expect(result.config.agent_server?.path).toBe(worker);
    expect(result.warnings).toEqual([]);
  });
});

describe("loadConfig: example_config.json", () => {
  it("validates with no warnings", () => {
    const result = expectOk(loadConfig(EXAMPLE_CONFIG, { env: ENV, writeUpgrade: false }));
    expect(result.warnings).toEqual([]);
    expect(result.upgradedFrom).toBeUndefined();
    expect(Object.keys(result.config.models)).toEqual(["main"]);
    expect(result.config.channels.map((c) => c.kind)).toEqual(["telegram"]);
  });
});

describe("loadConfig: problems are listed by path", () => {
  it("lists every bad field of an invalid config at once", () => {
    const errors = expectErrors(loadConfig(join(FIXTURES, "invalid.json"), { env: ENV }));
    const expected = [
      /^models\.main\.provider_type: must be one of .*"open_router_completion".* \(got "open_router_chat"\)$/,
      /^models\.main\.url: must be a valid URL$/,
      /^session_defaults\.compression_threshold_tokens: must be greater than 0$/,
      /^sandbox\.mode: must be one of "subprocess", "bubblewrap" \(got "docker"\)$/,
      /^sandbox\.software_mount_path: must be an absolute path$/,
      /^channels\.0\.poll_timeout_seconds: expected number, got a string$/,
      /^channels\.1\.admin_user_ids\.0: /,
      /^workers\.max_concurrent_turns: must be greater than 0$/,
      /^session_defaults\.search_tool_model: unknown model alias "brave" \(models: main\)$/,
      /^models: at least one model needs the "chat" capability/,
      /^channels\.1\.id: duplicate channel id "tg" \(also channels\.0\.id\)$/,
    ];
    for (const pattern of expected) expect(errors.some((e) => pattern.test(e)), `${pattern} in\n${errors.join("\n")}`).toBe(true);
    expect(errors).toHaveLength(expected.length);
  });

  it("refuses unknown keys by full path, with a spelling hint (a typo would leave the default in force)", () => {
    const path = fixtureCopy("stellaclaw-0.4-example_config.json");
    const raw = readJson(path);
    const channel = (raw.channels as Record<string, unknown>[])[0] as Record<string, unknown>;
    channel.bot_tokn_env = "TELEGRAM_BOT_TOKEN";
    (raw.models as Record<string, Record<string, unknown>>).main!.conn_timout = 5;
    raw.wrokers = { max_concurrent_turns: 2 };
    raw.sandbox = { ...(raw.sandbox as object), frobnicate: true };
    writeFileSync(path, JSON.stringify(raw));
    const errors = expectErrors(loadConfig(path, { env: ENV }));
    const fix = " (a key Starling does not know does nothing: fix its name or remove it)";
    expect(errors).toContain(`channels.0.bot_tokn_env: unknown key; did you mean "bot_token_env"?${fix}`);
    expect(errors).toContain(`models.main.conn_timout: unknown key; did you mean "conn_timeout"?${fix}`);
    expect(errors).toContain(`wrokers: unknown key; did you mean "workers"?${fix}`);
    expect(errors.find((e) => e.startsWith("sandbox.frobnicate:"))).toMatch(
      /^sandbox\.frobnicate: unknown key; Starling does not know it here, so it would do nothing: remove it \(known here: mode, bubblewrap_binary, .*file_size_limit_mb\)$/,
    );
    expect(errors).toHaveLength(4);
  });

  it("names the missing environment variable, never a secret value", () => {
    const env = { OPENROUTER_API_KEY: ENV.OPENROUTER_API_KEY };
    const result = parseConfig(readJson(join(FIXTURES, "stellaclaw-0.4-example_config.json")), { env });
    const errors = expectErrors(result);
    expect(errors).toEqual([
      "channels.0.bot_token_env: environment variable TELEGRAM_BOT_TOKEN is not set; add a line TELEGRAM_BOT_TOKEN=… to the env file (starling.env next to the config, or --env-file) or export it",
    ]);
    expect(result.warnings.some((w) => w.startsWith("models.search_brave.api_key_env: environment variable BRAVE_SEARCH_API_KEY is not set"))).toBe(true);
    expect(JSON.stringify(result)).not.toContain(ENV.OPENROUTER_API_KEY);
  });

  it("does not echo a bot_token written into the config", () => {
    const raw = readJson(join(FIXTURES, "stellaclaw-0.4-example_config.json"));
    (raw.channels as Record<string, unknown>[])[0]!.bot_token = "123:do-not-print";
    const result = expectOk(parseConfig(raw, { env: ENV }));
    expect(result.warnings.some((w) => w.startsWith("channels.0.bot_token: a token in the config file is not used"))).toBe(true);
    expect(JSON.stringify(result)).not.toContain("do-not-print");
  });

  it("skips secret checks when asked", () => {
    expectOk(parseConfig(readJson(EXAMPLE_CONFIG), { env: {}, checkSecrets: false }));
  });

  it("checks tool-model targets and :self rules", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    raw.session_defaults = { image_tool_model: "main:self", pdf_tool_model: ":self", audio_tool_model: "main:other" };
    const errors = expectErrors(parseConfig(raw, { env: ENV }));
    expect(errors).toEqual([
      'session_defaults.pdf_tool_model: ":self" needs an alias before it, e.g. "main:self"',
      'session_defaults.audio_tool_model: unsupported suffix ":other"; use "<alias>" or "<alias>:self"',
    ]);
  });
});

describe("loadConfig: context windows", () => {
  it("refuses a chat model whose token_max_context cannot hold one bounded tool result, naming the model and the minimum", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    const models = raw.models as Record<string, Record<string, unknown>>;
    const main = models.main!;
    models.tiny = { ...main, model_name: "tiny-4k", token_max_context: 4096 };
    raw.session_defaults = {};
    expect(expectErrors(parseConfig(raw, { env: ENV }))).toEqual([
      'models.tiny.token_max_context: 4096 tokens is too small for a chat model ("tiny-4k"): one tool result alone takes up to ~5000 tokens, and the system prompt, tool definitions and the answer need room next to it; Starling needs at least 8192 (set the model\'s real window, or use a model with a larger one)',
    ]);
  });

  it("accepts the minimum, and a small window on a model that does not chat", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    const models = raw.models as Record<string, Record<string, unknown>>;
    models.main = { ...models.main!, token_max_context: 8192 };
    models.search = { provider_type: "brave_search", model_name: "brave", url: "https://api.search.brave.com/res/v1/web/search", capabilities: ["web_search"], token_max_context: 1000 };
    raw.session_defaults = {};
    expectOk(parseConfig(raw, { env: ENV }));
  });
});

describe("loadConfig: sandbox limits", () => {
  it("names a limit that is not a whole positive number and the smallest memory limit", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    raw.sandbox = { ...(raw.sandbox as object), memory_limit_mb: 8, cpu_limit_seconds: 1.5, file_size_limit_mb: -1 };
    expect(expectErrors(parseConfig(raw, { env: ENV }))).toEqual([
      "sandbox.memory_limit_mb: must be at least 16 (MB)",
      "sandbox.cpu_limit_seconds: must be a whole number of seconds",
      "sandbox.file_size_limit_mb: must be greater than 0",
    ]);
  });

  it("null turns a limit off", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    raw.sandbox = { ...(raw.sandbox as object), memory_limit_mb: null, cpu_limit_seconds: 600 };
    const { config } = expectOk(parseConfig(raw, { env: ENV }));
    expect(config.sandbox).toMatchObject({ memory_limit_mb: null, cpu_limit_seconds: 600, file_size_limit_mb: null });
  });
});

describe("loadConfig: sandbox.hidden_paths", () => {
  it("accepts absolute paths, also ones that do not exist yet (hidden once they appear)", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    const paths = ["/etc/myapp/secret.env", "/etc/not-there-yet/keys/", "/usr/local/share/vault"];
    raw.sandbox = { ...(raw.sandbox as object), hidden_paths: paths };
    expect(expectOk(parseConfig(raw, { env: ENV })).config.sandbox.hidden_paths).toEqual(paths);
  });

  it("refuses a relative path and one that would hide a folder every command needs", () => {
    const raw = readJson(EXAMPLE_CONFIG);
    raw.sandbox = { ...(raw.sandbox as object), hidden_paths: ["secret.env", "/", "/usr", "/etc/", "/run", "/usr/lib", "/etc/ok.env"] };
    expect(expectErrors(parseConfig(raw, { env: ENV }))).toEqual([
      'sandbox.hidden_paths.0: "secret.env" is not an absolute path; write it from the root, e.g. /etc/myapp/secret.env',
      'sandbox.hidden_paths.1: "/" would hide /usr, which every sandboxed command needs; name the secret files or folders inside it instead',
      'sandbox.hidden_paths.2: "/usr" would hide /usr, which every sandboxed command needs; name the secret files or folders inside it instead',
      'sandbox.hidden_paths.3: "/etc/" would hide /etc, which every sandboxed command needs; name the secret files or folders inside it instead',
      'sandbox.hidden_paths.4: "/run" would hide /run/systemd/resolve, which every sandboxed command needs; name the secret files or folders inside it instead',
      'sandbox.hidden_paths.5: "/usr/lib" would hide /usr/lib, which every sandboxed command needs; name the secret files or folders inside it instead',
    ]);
  });
});

describe("loadConfig: file problems", () => {
  it("names line and column of a JSON syntax error", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, '{\n  "version": "0.4",\n  "models": {\n    "main": { "url": "x" "y" }\n  }\n}\n');
    const errors = expectErrors(loadConfig(path, { env: ENV }));
    expect(errors).toEqual([`${path}: invalid JSON(C) at line 4, column 26: expected ',' between items`]);
  });

  it("reports a missing file", () => {
    const path = join(tempDir(), "missing.json");
    expect(expectErrors(loadConfig(path))[0]).toBe(`${path}: config file not found (create one with \`starling init\` or copy example_config.json)`);
  });

  it("rejects a config that is not an object", () => {
    expect(expectErrors(parseConfig([1, 2]))).toEqual(["(root): expected a JSON object"]);
  });
});
