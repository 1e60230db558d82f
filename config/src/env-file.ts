/**
 * The env file (`starling.env` next to the config unless `--env-file` says otherwise): `NAME=value`
 * lines with the secrets the config names. The host, `doctor` and the service read it into a private
 * map; nothing here writes to `process.env`, so secrets from the file never reach a child's environ.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import dotenv from "dotenv";
import { secretEnvNames } from "./secret-names.js";
import type { StarlingConfig } from "./schema.js";
import type { Env } from "./secrets.js";

export const ENV_FILE_NAME = "starling.env";

/** `<config dir>/starling.env`. */
export function defaultEnvFilePath(configPath: string): string {
  return join(dirname(resolve(configPath)), ENV_FILE_NAME);
}

export type EnvFileRead =
  | { ok: true; path: string; found: boolean; values: Record<string, string>; /** group/other can read it */ tooOpen: boolean }
  | { ok: false; path: string; error: string };

/** Reads and parses the env file; a missing file is `found: false` with no values (not an error). */
export function readEnvFile(path: string): EnvFileRead {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: true, path: file, found: false, values: {}, tooOpen: false };
    return { ok: false, path: file, error: `${file}: cannot read the env file (${code ?? (error as Error).message})` };
  }
  const tooOpen = (statSync(file).mode & 0o077) !== 0;
  return { ok: true, path: file, found: true, values: dotenv.parse(text), tooOpen };
}

/**
 * The environment the config is checked against: the env file's values under the process
 * environment (a variable set in the environment wins, as with dotenv). A new object, never `process.env`.
 */
export function mergedEnv(file: Record<string, string>, env: Env): Record<string, string | undefined> {
  return { ...file, ...env };
}

/** name → value of every secret the config names, from `env` first, then the env file. */
export function loadSecrets(config: StarlingConfig, envFilePath: string, env: Env): Map<string, string> {
  const read = readEnvFile(envFilePath);
  const file = read.ok ? read.values : {};
  const out = new Map<string, string>();
  for (const name of secretEnvNames(config)) {
    const value = env[name] || file[name];
    if (value) out.set(name, value);
  }
  return out;
}

/** Sets or replaces `NAME=value` lines, keeping every other line (comments included). */
export function updateEnvText(text: string, values: Record<string, string>): string {
  const pending = new Map(Object.entries(values));
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const out = lines.map((line) => {
    const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (!name || !pending.has(name)) return line;
    const value = pending.get(name)!;
    pending.delete(name);
    return `${name}=${quoteEnvValue(value)}`;
  });
  for (const [name, value] of pending) out.push(`${name}=${quoteEnvValue(value)}`);
  return `${out.join("\n")}\n`;
}

function quoteEnvValue(value: string): string {
  if (/[\n\r]/.test(value)) throw new Error("a secret must be a single line");
  return /^[A-Za-z0-9_:./+@-]*$/.test(value) ? value : `'${value.replaceAll("'", "")}'`;
}
