import { allowlistedEnv } from "./env-allowlist.js";

/**
 * What the host and the worker share about running the system `ssh` (ARCHITECTURE §9.1): alias
 * validation (shared/reference/stellaclaw-tools-providers.md §3.4), its environment and the
 * STARLING_SSH_CONFIG override. The executor itself lives in core (tools/remote/).
 */

/** Names another ssh_config file (`ssh -F`), e.g. for tests; default: the user's ~/.ssh/config. */
export const SSH_CONFIG_ENV = "STARLING_SSH_CONFIG";

const FORBIDDEN = /['"`$;&|<>()\\/]/;

/**
 * `null` when `alias` is a safe ~/.ssh/config Host alias, else why not (one sentence). The alias is
 * put on an `ssh` command line, so anything ssh could read as an option or a shell as syntax is refused.
 */
export function sshAliasProblem(alias: string): string | null {
  if (alias === "") return "it is empty";
  if (alias === "local") return '"local" is reserved (omit remote to run locally)';
  if (alias.startsWith("-")) return "it starts with '-' (ssh would read it as an option)";
  // Whitespace and control characters (C0, DEL, C1).
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(alias)) return "it contains whitespace or control characters";
  if (FORBIDDEN.test(alias)) return "it contains one of / \\ ' \" ` $ ; & | < > ( )";
  if (alias.length > 255) return "it is longer than 255 characters";
  return null;
}

/**
 * The environment of an ssh process: the tools' allowlist (never the whole parent environment,
 * which may hold tokens and keys) plus SSH_AUTH_SOCK, so ssh-agent keys work. HOME is in the
 * allowlist (ssh helpers use it; ssh itself finds ~/.ssh through the passwd entry).
 */
export function sshEnv(source: Readonly<Record<string, string | undefined>>, secrets: { names?: Iterable<string>; values?: Iterable<string> } = {}): Record<string, string> {
  const env = allowlistedEnv(source, { secretNames: secrets.names, secretValues: secrets.values });
  if (source.SSH_AUTH_SOCK) env.SSH_AUTH_SOCK = source.SSH_AUTH_SOCK;
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  return env;
}

/** `["-F", file]` when STARLING_SSH_CONFIG is set in `env`, else nothing. */
export function sshConfigArgs(env: Readonly<Record<string, string | undefined>>): string[] {
  const file = env[SSH_CONFIG_ENV];
  return file ? ["-F", file] : [];
}
