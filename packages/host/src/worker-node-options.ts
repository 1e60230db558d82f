/**
 * NODE_OPTIONS for workers. Workers inherit the host's NODE_OPTIONS (the environment allowlist keeps it,
 * for memory flags and the like), but not the options that load code or open the inspector:
 * - `--require`/`-r`, `--import`, `--experimental-loader`/`--loader` run the operator's preload in every
 *   worker before the worker guards its stdout, which is the JSON-RPC wire: one `console.log` at load
 *   (a banner, dotenv's tip) and the host never reads `initialize`'s answer, so no message is answered.
 * - `--inspect*` (and `--inspect-port`/`--debug-port`) make every worker open a debugger (into a process
 *   that holds the session's model key) on the host's port, and `--inspect-brk` stops each one at start.
 */

/** Options withheld from workers (names as Node spells them after `_` → `-`), and whether each takes a value. */
const WITHHELD: ReadonlyMap<string, "value" | "flag"> = new Map([
  ["--require", "value"],
  ["-r", "value"],
  ["--import", "value"],
  ["--experimental-loader", "value"],
  ["--loader", "value"],
  ["--inspect", "flag"],
  ["--inspect-brk", "flag"],
  ["--inspect-wait", "flag"],
  ["--inspect-brk-node", "flag"],
  ["--inspect-port", "value"],
  ["--debug-port", "value"],
  ["--inspect-publish-uid", "value"],
]);

export interface WorkerNodeOptions {
  /** NODE_OPTIONS for workers: the kept options as written, in order; undefined when none is left. */
  value: string | undefined;
  /** The withheld options as written (an option and its value together), in order. */
  withheld: string[];
}

/**
 * Splits `nodeOptions` as Node does and leaves out the code-loading and inspector options, in both the
 * `--opt value` and `--opt=value` forms. Everything else is kept exactly as written.
 */
export function workerNodeOptions(nodeOptions: string | undefined): WorkerNodeOptions {
  const args = splitNodeOptions(nodeOptions ?? "");
  const kept: string[] = [];
  const withheld: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const kind = arg.value.startsWith("-") ? WITHHELD.get(optionName(arg.value)) : undefined;
    if (!kind) {
      kept.push(arg.raw);
      continue;
    }
    // Node takes the next argument as the value unless it is an option (then "requires an argument").
    const next = args[i + 1];
    if (kind === "value" && !arg.value.includes("=") && next && !next.value.startsWith("-")) {
      withheld.push(`${arg.raw} ${next.raw}`);
      i++;
    } else {
      withheld.push(arg.raw);
    }
  }
  return { value: kept.length ? kept.join(" ") : undefined, withheld };
}

/** The host's start log line when workers do not get all of NODE_OPTIONS, or null. */
export function withheldNodeOptionsWarning(nodeOptions: string | undefined): string | null {
  const { withheld } = workerNodeOptions(nodeOptions);
  if (!withheld.length) return null;
  return `NODE_OPTIONS ${withheld.join(" ")} withheld from workers (the host keeps them): a preload or loader runs before a worker guards its stdout, the JSON-RPC wire, and --inspect* opens a debugger into a process holding the model key`;
}

/** `--inspect_brk=9229` → `--inspect-brk` (Node reads `_` as `-` in option names). */
function optionName(arg: string): string {
  const eq = arg.indexOf("=");
  const name = eq === -1 ? arg : arg.slice(0, eq);
  return name.startsWith("--") ? `--${name.slice(2).replaceAll("_", "-")}` : name;
}

interface NodeOptionArg {
  /** The argument as Node reads it (quotes removed, escapes applied). */
  value: string;
  /** The argument's text in NODE_OPTIONS. */
  raw: string;
}

/**
 * NODE_OPTIONS split as Node's ParseNodeOptionsEnvVar does: spaces (only) separate arguments outside
 * double quotes, `"` toggles quoting and can sit mid-argument (`--require="/a b.js"`), and a backslash
 * inside quotes escapes the next character. `""` alone makes no argument.
 */
export function splitNodeOptions(text: string): NodeOptionArg[] {
  const args: NodeOptionArg[] = [];
  let run = -1; // where the current run of text between unquoted spaces began
  let current: NodeOptionArg | null = null;
  let quoted = false;
  const endRun = (end: number) => {
    if (current) current.raw = text.slice(run, end);
    current = null;
    run = -1;
  };
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === " " && !quoted) {
      endRun(i);
      continue;
    }
    if (run === -1) run = i;
    if (c === '"') {
      quoted = !quoted;
      continue;
    }
    if (c === "\\" && quoted && i + 1 < text.length) c = text[++i]!;
    if (!current) args.push((current = { value: "", raw: "" }));
    current.value += c;
  }
  endRun(text.length);
  return args;
}
