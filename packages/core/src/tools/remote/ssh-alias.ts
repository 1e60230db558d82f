/**
 * SSH Host alias validation (shared/reference/stellaclaw-tools-providers.md §3.4): the alias is
 * put on an `ssh` command line, so anything that ssh could read as an option or a shell could
 * read as syntax is refused before a process is started.
 */
const FORBIDDEN = /['"`$;&|<>()\\/]/;

/** `null` when `alias` is a safe ~/.ssh/config Host alias, else why not (one sentence). */
export function aliasProblem(alias: string): string | null {
  if (alias === "") return "it is empty";
  if (alias === "local") return '"local" is reserved (omit remote to run locally)';
  if (alias.startsWith("-")) return "it starts with '-' (ssh would read it as an option)";
  // Whitespace and control characters (C0, DEL, C1).
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(alias)) return "it contains whitespace or control characters";
  if (FORBIDDEN.test(alias)) return "it contains one of / \\ ' \" ` $ ; & | < > ( )";
  if (alias.length > 255) return "it is longer than 255 characters";
  return null;
}

/** The alias, or throws an Error whose message says what is wrong and what to give instead. */
export function validateAlias(alias: string): string {
  const problem = aliasProblem(alias);
  if (problem) {
    throw new Error(`remote host ${JSON.stringify(alias)} must be a safe ~/.ssh/config Host alias: ${problem}. Use a Host name from ~/.ssh/config such as "devbox".`);
  }
  return alias;
}
