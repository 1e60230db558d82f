import {
  INSTALL_BUBBLEWRAP_HINT,
  type KnownSecrets,
  probeBubblewrap,
  SandboxSetupError,
  toolCommand,
  type ToolCommand,
  toolEnvironment,
  ToolSandbox,
} from "@starling/protocol";
import { ToolError } from "./errors.js";

// Built in @starling/protocol, where `starling doctor` (host) starts stdio MCP servers the same way.
export type { KnownSecrets, ToolCommand };

export interface ToolProcessOptions {
  workspace: string;
  /** Default: subprocess mode, no extra variables. */
  sandbox?: ToolSandbox;
  secrets?: KnownSecrets;
  /** The environment the allowlist picks from; default the worker's `process.env`. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Real paths of hidden paths found mid-life, reported to the host (a worker's); absent: nothing to wait for. */
  hiddenReports?: { settled(): Promise<void> };
}

/**
 * How a tool process is started (shell and background shells; a remote variant can sit beside it).
 * Every process starts from an allowlisted environment plus `sandbox.env`, never the worker's own.
 * In `bubblewrap` mode each process runs in its own bwrap: own PID namespace (so no process that
 * holds a secret, the worker included, is visible), bwrap itself started with only the tools' environment
 * (and a server's secrets, never on its command line), only the workspace, `shared/`, `software_dir` and the
 * system folders mounted, secret files in them masked (protocol's `toolCommand` and `bubblewrapArgs`).
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
   * Resolves once the host has answered every report of a hidden path's real path found so far (`command` may have
   * found one): awaited after `command` and before the process starts.
   */
  reported(): Promise<void> {
    return this.options.hiddenReports?.settled() ?? Promise.resolve();
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
    try {
      return toolCommand({ workspace: this.options.workspace, sandbox: this.sandbox, env: this.env }, argv, cwd, extraEnv, secretEnv);
    } catch (error) {
      if (error instanceof SandboxSetupError) throw new ToolError("failed", error.message);
      throw error;
    }
  }
}
