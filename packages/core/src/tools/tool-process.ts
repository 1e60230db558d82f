import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { allowlistedEnv, INSTALL_BUBBLEWRAP_HINT, probeBubblewrap, ToolSandbox } from "@starling/protocol";
import { ToolError } from "./errors.js";

/** What the worker knows to be secret: never passed to a tool process (ARCHITECTURE §2). */
export interface KnownSecrets {
  names: readonly string[];
  values: readonly string[];
}

export interface ToolProcessOptions {
  workspace: string;
  /** Default: subprocess mode, no extra variables. */
  sandbox?: ToolSandbox;
  secrets?: KnownSecrets;
  /** The environment the allowlist picks from; default the worker's `process.env`. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
}

/** What to spawn for one tool process: program, arguments, its whole environment, cwd. */
export interface ToolCommand {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** System folders bound read-only into the sandbox (symlinks such as /bin → usr/bin are recreated as links). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];
/** DNS through systemd-resolved: /etc/resolv.conf often links here. */
const RESOLVER_DIR = "/run/systemd/resolve";

/**
 * How a tool process is started (shell and background shells; a remote variant can sit beside it).
 * Every process starts from an allowlisted environment plus `sandbox.env`, never the worker's own.
 * In `bubblewrap` mode each process runs in its own bwrap: own PID namespace (so no process that
 * holds a secret, the worker included, is visible), cleared environment, only the workspace,
 * `shared/`, `software_dir` and the system folders mounted.
 */
export class ToolProcessLauncher {
  readonly sandbox: ToolSandbox;
  private readonly env: Record<string, string>;
  private probed: Promise<void> | null = null;

  constructor(private readonly options: ToolProcessOptions) {
    this.sandbox = options.sandbox ?? ToolSandbox.parse({ mode: "subprocess" });
    this.env = toolEnvironment(options.workspace, this.sandbox, options.secrets, options.baseEnv ?? process.env);
  }

  get mode(): ToolSandbox["mode"] {
    return this.sandbox.mode;
  }

  /** The environment a tool process sees. */
  environment(): Record<string, string> {
    return { ...this.env };
  }

  /**
   * Resolves when tool processes can start. In bubblewrap mode bwrap is really run once (a success
   * is remembered); a failure is a ToolError that says the command was not run and what to do.
   */
  ready(): Promise<void> {
    if (this.sandbox.mode !== "bubblewrap") return Promise.resolve();
    this.probed ??= probeBubblewrap(this.sandbox.bubblewrapBinary, { network: this.sandbox.network }).then((probe) => {
      if (probe.ok) return;
      this.probed = null; // try again next time: the operator may have fixed it
      throw new ToolError(
        "failed",
        `The command was not run: this conversation uses the bubblewrap sandbox and it cannot start (${probe.problem}). ` +
          `Ask the operator to fix it (${INSTALL_BUBBLEWRAP_HINT}) or to switch this conversation to /sandbox subprocess.`,
      );
    });
    return this.probed;
  }

  /**
   * `argv` (e.g. `["/bin/bash", "-c", cmd]`) as it is spawned in this mode, in `cwd` (default the workspace).
   * `extraEnv` (an MCP server's `env`) and `secretEnv` (its secrets) are added for this process only.
   */
  command(
    argv: readonly [string, ...string[]],
    cwd = this.options.workspace,
    extraEnv: Record<string, string> = {},
    secretEnv: Record<string, string> = {},
  ): ToolCommand {
    const env = { ...this.env, ...extraEnv, ...secretEnv };
    const limited = withLimits(argv, this.sandbox.limits);
    if (this.sandbox.mode === "subprocess") {
      const [program, ...args] = limited;
      return { program, args, env, cwd };
    }
    return {
      program: this.sandbox.bubblewrapBinary,
      args: [...bubblewrapArgs(this.options.workspace, this.sandbox, { ...this.env, ...extraEnv }, cwd), "--", ...limited],
      // bwrap starts from exactly this environment and passes it on. Secrets never go on its command line as
      // `--setenv`: /proc/<pid>/cmdline is readable by every local user, environ by the owner only.
      env,
      cwd,
    };
  }
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

/** The bwrap options (everything before `--`) for one tool process; `env` is set with `--setenv`, so never a secret. */
export function bubblewrapArgs(workspace: string, sandbox: ToolSandbox, env: Record<string, string>, cwd: string): string[] {
  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(sandbox.network ? [] : ["--unshare-net"]),
  ];
  // No --clearenv: bwrap's own environment is the spawn's (the tools' one, the process's extra and secrets), nothing
  // of the worker's. The non-secret variables are set again because a setuid bwrap's libc drops some (TMPDIR,
  // LD_LIBRARY_PATH) from its own.
  for (const [name, value] of Object.entries(env)) args.push("--setenv", name, value);
  /** [source, where it appears inside]: what `hiddenPaths` are masked under. */
  const binds: [string, string][] = [];
  const bind = (option: "--bind" | "--ro-bind", source: string, dest = source) => {
    args.push(option, source, dest);
    binds.push([source, dest]);
  };
  for (const dir of SYSTEM_DIRS) {
    const kind = entryKind(dir);
    if (kind === "link") args.push("--symlink", readlinkSync(dir), dir);
    else if (kind === "dir") bind("--ro-bind", dir);
  }
  if (entryKind(RESOLVER_DIR) === "dir") bind("--ro-bind", RESOLVER_DIR);
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp");
  // Only this conversation's folder: its siblings, the workdir's state, logs and config stay absent.
  bind("--bind", workspace);
  // The session database belongs to the worker: tools may read it, never rewrite it.
  const db = join(workspace, ".starling");
  if (existsSync(db)) bind("--ro-bind", db);
  if (sandbox.sharedDir && existsSync(sandbox.sharedDir)) bind("--bind", sandbox.sharedDir);
  if (sandbox.softwareDir) {
    if (!existsSync(sandbox.softwareDir)) {
      throw new ToolError("failed", `The command was not run: sandbox.software_dir ${sandbox.softwareDir} does not exist; fix the config.`);
    }
    bind("--ro-bind", sandbox.softwareDir, sandbox.softwareMountPath);
  }
  args.push(...maskArgs(sandbox.hiddenPaths, binds));
  args.push("--chdir", cwd);
  return args;
}

/**
 * The host's secret files (config, env file) wherever a bind would show them (a config under /etc):
 * a file is covered by an empty read-only one, a folder by an empty tmpfs. After the binds, which
 * bwrap applies in order.
 */
function maskArgs(hidden: readonly string[], binds: readonly [string, string][]): string[] {
  const out: string[] = [];
  for (const path of hidden) {
    const kind = entryKind(path) ?? (existsSync(path) ? "file" : null);
    if (!kind) continue;
    for (const [source, dest] of binds) {
      if (path !== source && !path.startsWith(source.endsWith("/") ? source : `${source}/`)) continue;
      const inside = dest + path.slice(source.length);
      out.push(...(kind === "dir" ? ["--tmpfs", inside] : ["--ro-bind", "/dev/null", inside]));
    }
  }
  return out;
}

function entryKind(path: string): "link" | "dir" | null {
  try {
    const stat = lstatSync(path);
    return stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "dir" : null;
  } catch {
    return null;
  }
}
