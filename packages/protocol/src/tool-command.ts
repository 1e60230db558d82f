import { existsSync } from "node:fs";
import { bubblewrapArgs } from "./bubblewrap-args.js";
import { allowlistedEnv } from "./env-allowlist.js";
import type { ToolSandbox } from "./methods.js";

/** What the worker knows to be secret: never passed to a tool process (ARCHITECTURE §2). */
export interface KnownSecrets {
  names: readonly string[];
  values: readonly string[];
}

/** What to spawn for one tool process: program, arguments, its whole environment, cwd. */
export interface ToolCommand {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * `argv` (e.g. `["/bin/bash", "-c", cmd]`) as a tool process is spawned in `sandbox`'s mode, in `cwd`: `env` is
 * the tools' environment (toolEnvironment), `extraEnv` (an MCP server's `env`) and `secretEnv` (its secrets) are
 * added for this process only. One source of truth for the worker's launcher and `starling doctor`, which starts
 * stdio MCP servers exactly as a worker would. A SandboxSetupError when the sandbox cannot be set up as configured.
 */
export function toolCommand(
  spec: { workspace: string; sandbox: ToolSandbox; env: Record<string, string> },
  argv: readonly [string, ...string[]],
  cwd: string,
  extraEnv: Record<string, string> = {},
  secretEnv: Record<string, string> = {},
): ToolCommand {
  const env = { ...spec.env, ...extraEnv, ...secretEnv };
  const limited = withLimits(argv, spec.sandbox.limits);
  if (spec.sandbox.mode === "subprocess") {
    const [program, ...args] = limited;
    return { program, args, env, cwd };
  }
  return {
    program: spec.sandbox.bubblewrapBinary,
    args: [...bubblewrapArgs(spec.workspace, spec.sandbox, { ...spec.env, ...extraEnv }, cwd), "--", ...limited],
    // bwrap starts from exactly this environment and passes it on. Secrets never go on its command line as
    // `--setenv`: /proc/<pid>/cmdline is readable by every local user, environ by the owner only.
    env,
    cwd,
  };
}

/**
 * `argv` run under the sandbox's resource limits, with only stdin, stdout and stderr open: a shell
 * closes every other inherited descriptor, sets the limits (hard and soft, so the process cannot
 * raise them again) and then execs `argv`, whose pid, stdio and exit status stay the same. A limit
 * the shell cannot set (an already lower hard limit) leaves that lower one in force.
 *
 * Why close: node opens its files close-on-exec, but LevelDB (classic-level) does not, so the host's
 * database files (inherited by the worker) and the worker's own session database would reach every
 * tool process as open descriptors, and `/proc/self/fd/N` reopens them even inside bubblewrap, where
 * their paths are not mounted. bash closes them (dash cannot name descriptors above 9); without
 * `/bin/bash` only descriptors 3-9 are closed by `/bin/sh`.
 */
export function withLimits(argv: readonly [string, ...string[]], limits: ToolSandbox["limits"], bash = HAS_BASH): readonly [string, ...string[]] {
  const set: string[] = [];
  if (limits.memoryMb) set.push(`ulimit -d ${limits.memoryMb * 1024}`);
  if (limits.cpuSeconds) set.push(`ulimit -t ${limits.cpuSeconds}`);
  // `ulimit -f` counts 1024-byte blocks in bash, 512-byte blocks in dash.
  if (limits.fileSizeMb) set.push(`ulimit -f ${limits.fileSizeMb * (bash ? 1024 : 2048)}`);
  const script = [bash ? CLOSE_FDS_BASH : CLOSE_FDS_SH, ...set.map((s) => `${s} 2>/dev/null`), 'exec "$@"'].join("; ");
  return [bash ? "/bin/bash" : "/bin/sh", "-c", script, "starling-limits", ...argv];
}

const HAS_BASH = existsSync("/bin/bash");
/** Closes every descriptor above 2 (the glob's own directory descriptor is already closed again). */
const CLOSE_FDS_BASH = 'for f in /proc/self/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then exec {n}<&-; fi; done';
const CLOSE_FDS_SH = "exec 3<&- 4<&- 5<&- 6<&- 7<&- 8<&- 9<&-";

/** Allowlisted variables + pager settings + STARLING_SOFTWARE_DIR + `sandbox.env` (which wins). */
export function toolEnvironment(
  workspace: string,
  sandbox: ToolSandbox,
  secrets: KnownSecrets | undefined,
  baseEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {
    ...allowlistedEnv(baseEnv, { secretNames: secrets?.names, secretValues: secrets?.values }),
    PAGER: "cat",
    GIT_PAGER: "cat",
    // bash sources ~/.bashrc when stdin is a socket (node's pipes are) and SHLVL is unset, as if run
    // by sshd; a user's rc file (pyenv, nvm…) must not run, or hang, before every command.
    SHLVL: "1",
  };
  if (sandbox.mode === "bubblewrap") {
    // The real $HOME and TMPDIR are not mounted: home is the workspace, temp the private /tmp.
    env.HOME = workspace;
    env.TMPDIR = "/tmp";
  }
  if (sandbox.softwareDir) {
    env.STARLING_SOFTWARE_DIR = sandbox.mode === "bubblewrap" ? sandbox.softwareMountPath : sandbox.softwareDir;
  }
  return { ...env, ...sandbox.env };
}
