// The install flow as a new user meets it: `starling init` typed into a real terminal, and
// `starling doctor` telling what is wrong (wrong key, refused connection, missing env file).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_MAIN, runCliOnce, tempDir, until, writeHostConfig } from "./host-harness.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram-api.js";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai-server.js";
import { freePort } from "./web-fixture.js";

let work: { dir: string; cleanup: () => void };
let telegram: FakeTelegram;
let model: FakeOpenAI;
const RIGHT_KEY = "sk-right-key";

beforeAll(async () => {
  work = tempDir("starling-install-");
  telegram = await startFakeTelegram();
  model = await startFakeOpenAI({ replies: [], apiKey: RIGHT_KEY });
});

afterAll(async () => {
  await telegram?.close();
  await model?.close();
  work?.cleanup();
});

const noSecrets = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  FAKE_TELEGRAM_TOKEN: undefined,
  FAKE_MODEL_KEY: undefined,
  TELEGRAM_BOT_TOKEN: undefined,
  OPENROUTER_API_KEY: undefined,
  ...extra,
});

describe("starling doctor", () => {
  it("fails a wrong model key naming the variable, prints the cause of a refused connection, exit 1", async () => {
    const closed = await closedPort();
    const dir = join(work.dir, "doctor-wrong");
    mkdirSync(dir);
    const config = writeHostConfig(dir, {
      apiRoot: telegram.apiRoot,
      modelUrl: model.url,
      extraModels: {
        offline: { provider_type: "open_router_completion", model_name: "m", url: `http://127.0.0.1:${closed}/v1/chat/completions`, capabilities: ["chat"] },
      },
    });
    writeFileSync(join(dir, "starling.env"), `FAKE_TELEGRAM_TOKEN=${telegram.token}\nFAKE_MODEL_KEY=sk-wrong\n`, { mode: 0o600 });
    const run = await runCliOnce(["doctor", "--config", config, "--workdir", join(dir, "wd"), "--fix"], noSecrets({ XDG_CONFIG_HOME: join(dir, "xdg") }));
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/^ok\s+telegram tg: getMe: the token in FAKE_TELEGRAM_TOKEN works/m);
    expect(run.output).toMatch(/^FAIL\s+model main: .* rejected the key in FAKE_MODEL_KEY \(HTTP 401\)/m);
    expect(run.output).toMatch(/next: put the right key in .*starling\.env as FAKE_MODEL_KEY=/);
    expect(run.output).toMatch(new RegExp(`^FAIL\\s+model offline: POST http://127.0.0.1:${closed}/v1/chat/completions failed: .*ECONNREFUSED`, "m"));
    expect(run.output).not.toContain("sk-wrong");
    expect(run.output).toMatch(/^ok\s+workdir: .* is writable/m); // --fix created it
  });

  it("with no env file, names the file and each missing variable; a bad config exits 78", async () => {
    const dir = join(work.dir, "doctor-noenv");
    mkdirSync(dir);
    const config = writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    const run = await runCliOnce(["doctor", "--config", config, "--workdir", dir], noSecrets({ XDG_CONFIG_HOME: join(dir, "xdg") }));
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(new RegExp(`^warn\\s+env file: ${join(dir, "starling.env")} does not exist`, "m"));
    expect(run.output).toMatch(/^FAIL\s+telegram tg: FAKE_TELEGRAM_TOKEN is not set/m);
    expect(run.output).toMatch(/^FAIL\s+model main: FAKE_MODEL_KEY is not set/m);
    expect(run.output).toMatch(/next: add FAKE_MODEL_KEY=… to .*starling\.env/);

    writeFileSync(config, '{ "version": "0.4", // comments are fine\n  "models": {}, "chanels": [] }');
    const bad = await runCliOnce(["doctor", "--config", config, "--workdir", dir], noSecrets());
    expect(bad.code).toBe(78);
    expect(bad.output).toMatch(/chanels: unknown key; did you mean "channels"\?/);
  });
});

describe("starling init in a terminal", () => {
  it.skipIf(!existsSync("/usr/bin/script"))("asks for the token and key with masked input, checks both, writes config and env file", async () => {
    const dir = join(work.dir, "init-tty");
    mkdirSync(dir);
    const config = join(dir, "starling.json");
    const command = [
      process.execPath, HOST_MAIN, "init", "--config", config, "--workdir", join(dir, "wd"),
      "--telegram-api", telegram.apiRoot, "--model-url", model.url,
    ].map((a) => `'${a}'`).join(" ");
    // The pty has no size when script's stdin is a pipe; clack would wrap after every character.
    const shell = `stty cols 120 rows 40; exec ${command}`;
    // util-linux `script` gives the CLI a real pseudo-terminal (raw mode, masked input), no native addon needed.
    const child = spawn("script", ["-qfec", shell, "/dev/null"], { env: { ...noSecrets(), TERM: "xterm", COLUMNS: "120" } });
    let screen = "";
    child.stdout.on("data", (d: Buffer) => (screen += d.toString()));
    child.stderr.on("data", (d: Buffer) => (screen += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const answer = async (prompt: RegExp, keys: string) => {
      await until(() => prompt.test(screen), 15_000, `prompt ${prompt}`);
      const mark = screen.length;
      child.stdin.write(keys);
      await until(() => screen.length > mark, 5_000, "echo");
    };
    await answer(/Telegram bot token/, `${telegram.token}\r`);
    await answer(/Model provider/, "\r"); // OpenRouter (first choice); the URL comes from --model-url
    await answer(/Model name/, "\r");
    await answer(/API key \(saved as OPENROUTER_API_KEY/, `${RIGHT_KEY}\r`);
    await answer(/Your Telegram user id/, "4242\r");
    expect(await exited, screen).toBe(0);

    expect(screen).toMatch(/Token works: @starling_test_bot/);
    expect(screen).toMatch(/accepted the key/);
    expect(screen).not.toContain(telegram.token); // masked, never echoed
    expect(screen).not.toContain(RIGHT_KEY);
    const written = JSON.parse(readFileSync(config, "utf8")) as { channels: { admin_user_ids: number[] }[]; models: { main: { url: string } } };
    expect(written.channels[0]!.admin_user_ids).toEqual([4242]);
    expect(written.models.main.url).toBe(model.url);
    const envFile = join(dir, "starling.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, "utf8")).toContain(`TELEGRAM_BOT_TOKEN=${telegram.token}`);
    expect(readFileSync(envFile, "utf8")).toContain(`OPENROUTER_API_KEY=${RIGHT_KEY}`);
  }, 60_000);
});

/**
 * A local port nothing listens on (fetch refuses well-known ports like 9 before connecting), below the
 * kernel's ephemeral range: one that `listen(0)` handed out and this file freed could be another test
 * file's fake model by the time doctor calls it (a stray request in that test's count of model calls).
 */
const closedPort = freePort;
