/**
 * The environment a child process may inherit (ARCHITECTURE §2): a short allowlist, never the
 * parent's whole environment, and never a variable that is (or holds) a secret. Used by the host
 * for workers and by the worker for tool processes.
 */

/** Variables passed by name. */
export const ALLOWED_ENV_NAMES: readonly string[] = [
  "PATH",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TERM",
  "HOME",
  "TMPDIR",
  "USER",
  "LOGNAME",
  "NODE_OPTIONS",
];
/** Variables passed by prefix: locale settings and Starling's own (non-secret) knobs. */
export const ALLOWED_ENV_PREFIXES: readonly string[] = ["LC_", "STARLING_"];

export interface AllowlistOptions {
  /** Names that are secrets (config `*_env` names): dropped even if allowlisted. */
  secretNames?: Iterable<string>;
  /** Secret values: any variable whose value contains one is dropped. */
  secretValues?: Iterable<string>;
}

/** The allowlisted part of `source`, minus anything secret by name or by value. */
export function allowlistedEnv(
  source: Readonly<Record<string, string | undefined>>,
  options: AllowlistOptions = {},
): Record<string, string> {
  const names = new Set(options.secretNames ?? []);
  const values = [...(options.secretValues ?? [])].filter((v) => v.length > 0);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (!ALLOWED_ENV_NAMES.includes(name) && !ALLOWED_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (names.has(name) || values.some((secret) => value.includes(secret))) continue;
    out[name] = value;
  }
  return out;
}
