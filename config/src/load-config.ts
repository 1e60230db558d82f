import { constants, copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseJsonText } from "./json-text.js";
import { rewriteJsonc } from "./jsonc-edit.js";
import type { RawConfig } from "./loaders/raw.js";
import { evaluateConfig, type LoadResult, type ParseOptions } from "./parse-config.js";

export interface LoadOptions extends Omit<ParseOptions, "baseDir"> {
  /** Rewrite an upgraded config in place, after saving the original as a `.bak` (default true). */
  writeUpgrade?: boolean;
}

/** `config.json.bak`, or `config.json.1.bak`, `config.json.2.bak`… when that name is taken. */
export function backupPathFor(path: string): string {
  if (!existsSync(`${path}.bak`)) return `${path}.bak`;
  for (let n = 1; ; n++) if (!existsSync(`${path}.${n}.bak`)) return `${path}.${n}.bak`;
}

/** Saves the original bytes next to the file, then atomically replaces it with the upgraded config (comments kept). */
function writeUpgraded(path: string, text: string, original: unknown, upgraded: RawConfig): string {
  const backup = backupPathFor(path);
  copyFileSync(path, backup, constants.COPYFILE_EXCL);
  const temporary = `${path}.upgrade-${process.pid}.tmp`;
  writeFileSync(temporary, rewriteJsonc(text, original, upgraded), { mode: statSync(path).mode & 0o777 });
  renameSync(temporary, path);
  return backup;
}

function readText(path: string): { ok: true; text: string } | { ok: false; error: string } {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return { ok: false, error: `${path}: config file not found (create one with \`starling init\` or copy example_config.json)` };
    }
    return { ok: false, error: `${path}: cannot read the config file (${code ?? (error as Error).message})` };
  }
}

/**
 * Reads, upgrades and validates the config file at `path`. Relative paths inside it are resolved
 * against its directory. An older config is rewritten in the latest shape once it validates, after the
 * original is copied to `<file>.bak` (the path is returned as `backupPath`).
 */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  const file = resolve(path);
  const read = readText(file);
  if (!read.ok) return { ok: false, errors: [read.error], warnings: [] };
  const json = parseJsonText(read.text);
  if (!json.ok) {
    const { line, column, message } = json.error;
    return { ok: false, errors: [`${file}: invalid JSON(C) at line ${line}, column ${column}: ${message}`], warnings: [] };
  }
  const { writeUpgrade = true, ...parseOptions } = options;
  const { result, upgraded } = evaluateConfig(json.value, { ...parseOptions, baseDir: dirname(file) });
  if (!result.ok || !upgraded || !result.upgradedFrom || !writeUpgrade) return result;
  try {
    const backupPath = writeUpgraded(file, read.text.replace(/^\uFEFF/, ""), json.value, upgraded);
    return { ...result, backupPath };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return {
      ...result,
      warnings: [...result.warnings, `${file}: upgraded from ${result.upgradedFrom} in memory only; cannot rewrite the file (${reason})`],
    };
  }
}
