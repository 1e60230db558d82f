import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { loadConfig, type Env, type LoadResult } from "../src/index.js";

export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
export const EXAMPLE_CONFIG = new URL("../../example_config.json", import.meta.url).pathname;

/** Every secret the fixtures name, with values that must never show up in messages. */
export const ENV = {
  TELEGRAM_BOT_TOKEN: "123456:secret-telegram-token",
  OPENROUTER_API_KEY: "sk-or-secret",
  BRAVE_SEARCH_API_KEY: "brave-secret",
  ANTHROPIC_API_KEY: "sk-ant-secret",
  HOME_BOT_TOKEN: "999:home-secret",
  TG_TOKEN: "777:tg-secret",
  CLAWPARTY_WEB_AUTH_TOKEN: "clawparty-web-secret",
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "starling-config-"));
  dirs.push(dir);
  return dir;
}

/** Copies a fixture into a fresh temp dir as config.json and returns its path. */
export function fixtureCopy(name: string, source = join(FIXTURES, name)): string {
  const path = join(tempDir(), "config.json");
  copyFileSync(source, path);
  return path;
}

export function filesNextTo(path: string): string[] {
  return readdirSync(join(path, "..")).sort();
}

export type EditableConfig = Record<string, unknown> & { models: Record<string, Record<string, unknown>> };

/** The example config, changed by `edit`, written to a temp file and read by the real loader (env: `ENV` unless given). */
export function loadEdited(edit: (raw: EditableConfig) => void, env: Env = ENV): LoadResult {
  const path = fixtureCopy("config.json", EXAMPLE_CONFIG);
  const raw = JSON.parse(readFileSync(path, "utf8")) as EditableConfig;
  edit(raw);
  writeFileSync(path, JSON.stringify(raw));
  return loadConfig(path, { env });
}

export const errorsOf = (result: LoadResult): string[] => (result.ok ? [] : result.errors);
