import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { crossFieldChecks } from "./cross-checks.js";
import { formatIssues } from "./issues.js";
import { isRecord, type RawConfig } from "./loaders/raw.js";
import { upgradeToLatest } from "./loaders/upgrade.js";
import { StarlingConfig } from "./schema.js";
import { secretChecks, type Env } from "./secrets.js";
import { unknownKeys } from "./unknown-keys.js";

export interface ParseOptions {
  /** Where secrets are looked up (default `process.env`). */
  env?: Env;
  /** Report missing bot tokens / API keys (default true). */
  checkSecrets?: boolean;
  /** Directory relative paths in the config are resolved against (default: the current directory). */
  baseDir?: string;
}

export type LoadResult =
  | {
      ok: true;
      /** Validated, defaults applied, `agent_server.path` and `log.file` made absolute. */
      config: StarlingConfig;
      /** Everything worth telling the user that does not stop Starling (upgrades, keys ignored on purpose…). */
      warnings: string[];
      /** The version the config was upgraded from, when it was older than CONFIG_VERSION. */
      upgradedFrom?: string;
      /** loadConfig only: where the original file was saved before it was rewritten. */
      backupPath?: string;
    }
  | {
      ok: false;
      /** Every problem, each `path.to.field: what is wrong`. */
      errors: string[];
      warnings: string[];
    };

export interface Evaluation {
  result: LoadResult;
  /** The upgraded config to write back (latest shape, the user's keys kept), when an upgrade happened. */
  upgraded?: RawConfig;
}

const unique = (lines: string[]) => [...new Set(lines)];

/** Resolves file paths against the config's directory; a worker path that does not exist is dropped. */
function resolvePaths(config: StarlingConfig, baseDir: string, warnings: string[]): void {
  const path = config.agent_server?.path;
  if (config.agent_server && path !== undefined) {
    const absolute = resolve(baseDir, path);
    if (existsSync(absolute)) {
      config.agent_server.path = absolute;
    } else {
      const shown = absolute === path ? path : `${path} (${absolute})`;
      warnings.push(`agent_server.path: ${shown} not found; using the bundled worker`);
      config.agent_server.path = undefined;
    }
  }
  if (config.log.file !== undefined) config.log.file = resolve(baseDir, config.log.file);
}

/** Upgrade, validate and check a parsed config object. Never touches the file system except to stat paths. */
export function evaluateConfig(json: unknown, options: ParseOptions = {}): Evaluation {
  const { env = process.env, checkSecrets = true, baseDir = process.cwd() } = options;
  if (!isRecord(json)) {
    return { result: { ok: false, errors: ["(root): expected a JSON object"], warnings: [] } };
  }
  const upgrade = upgradeToLatest(json);
  if (!upgrade.ok) return { result: { ok: false, errors: upgrade.errors, warnings: upgrade.notes } };

  const raw = upgrade.config;
  const warnings = [...upgrade.notes];
  const parsed = StarlingConfig.safeParse(raw, { reportInput: true });
  const errors = parsed.success ? [] : formatIssues(parsed.error.issues);
  const checks = [unknownKeys(StarlingConfig, raw), crossFieldChecks(raw), ...(checkSecrets ? [secretChecks(raw, env)] : [])];
  for (const check of checks) {
    errors.push(...check.errors);
    warnings.push(...check.warnings);
  }
  if (errors.length > 0 || !parsed.success) {
    return { result: { ok: false, errors: unique(errors), warnings: unique(warnings) } };
  }
  const config = parsed.data;
  resolvePaths(config, baseDir, warnings);
  const upgradedFrom = upgrade.upgradedFrom;
  return {
    result: { ok: true, config, warnings: unique(warnings), ...(upgradedFrom ? { upgradedFrom } : {}) },
    ...(upgradedFrom ? { upgraded: raw } : {}),
  };
}

/** Like loadConfig, from an already parsed JSON value (nothing is written). */
export function parseConfig(json: unknown, options: ParseOptions = {}): LoadResult {
  return evaluateConfig(json, options).result;
}
