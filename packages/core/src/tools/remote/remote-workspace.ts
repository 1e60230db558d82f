import { lazySchema } from "@starling/protocol";
import { z } from "zod";
import { ToolError } from "../errors.js";
import type { ToolErrorKind } from "../types.js";
import { tooLargeToEdit, WHOLE_FILE_BYTES } from "../whole-file.js";
import { remoteAnswers } from "./answers.js";
import { helperScript } from "./helper-script.js";
import { checkReachable, runSsh, shQuote, silentLimitS, sshArgs, sshEnv, unreachable } from "./ssh.js";
import { heartbeatMs, shellWrapperScript } from "./shell-wrapper.js";

/** Built on the first remote call, like the answers' shapes. */
const HelperAnswer = lazySchema(() =>
  z.union([z.object({ ok: z.literal(true) }).passthrough(), z.object({ ok: z.literal(false), kind: z.string(), message: z.string() })]),
);

const KINDS: readonly ToolErrorKind[] = ["invalid_arguments", "unknown_tool", "path_escape", "not_found", "failed", "aborted"];

/** How a local process is started for a remote shell command: the local `ssh` client. */
export interface RemoteLaunch {
  /** The SSH alias, named in what the session reports. */
  host: string;
  program: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * One remote place tools work in: an SSH alias and a root folder there (`null` = the remote user's
 * home, used in selectable mode). File tools send one JSON request per operation to the helper
 * script; `shell` gets an ssh command line that runs the command under the shell wrapper.
 */
export class RemoteWorkspace {
  constructor(
    readonly alias: string,
    readonly root: string | null,
  ) {}

  /** `alias:root` as shown in results. */
  get label(): string {
    return `${this.alias}:${this.root ?? "~"}`;
  }

  /** Runs one helper operation; returns its answer or throws a ToolError with the helper's message. */
  async op<T extends z.ZodType>(op: string, payload: Record<string, unknown>, answer: T, signal: AbortSignal): Promise<z.output<T>> {
    const request = JSON.stringify({ op, root: this.root, ...payload });
    const result = await runSsh(this.alias, `python3 -c ${shQuote(helperScript())} ${heartbeatMs() / 1000}`, request, signal);
    if (result.code === 255) throw unreachable(this.alias, result.stderr);
    if (result.code === 127) {
      throw new ToolError("failed", `python3 is not installed on ${this.alias}; the remote file tools need it (install python3 there, or use shell).`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.stdout.toString("utf8"));
    } catch {
      const detail = result.stderr.trim().split(/\r?\n/).slice(-3).join(" / ");
      throw new ToolError("failed", `The remote file helper on ${this.alias} failed (exit ${result.code}): ${detail || "its output was not JSON"}.`);
    }
    const checked = HelperAnswer().parse(parsed);
    if (!checked.ok) {
      const kind = KINDS.find((k) => k === checked.kind) ?? "failed";
      throw new ToolError(kind, `${checked.message} (on ${this.alias})`);
    }
    return answer.parse(checked);
  }

  /**
   * The whole text of a file for edit and apply_patch (`null`: it does not exist); a file over
   * WHOLE_FILE_BYTES is refused on the remote side before it is read.
   */
  async readText(target: { abs: string; display: string }, signal: AbortSignal): Promise<string | null> {
    const tooLarge = tooLargeToEdit(target.display, "{size}", this.alias);
    const answer = await this.op("read_texts", { paths: [target.abs], max: WHOLE_FILE_BYTES, too_large: tooLarge }, remoteAnswers().TextsAnswer, signal);
    return answer.texts[0] ?? null;
  }

  /**
   * The local ssh command for a shell command: the wrapper (Python) on the remote side changes into
   * the root, runs `bash -c <command>` in its own process group with stderr merged into stdout, and
   * kills that group as soon as its stdin closes, which happens when the local ssh is killed
   * (cancel, shell_close, shutdown) or the connection drops, or once it has heard no heartbeat for
   * silentLimitS() (a silent partition). So no remote command outlives us for long. It sends a heartbeat of its
   * own (ALIVE_BYTE on stderr), which the session watches (answerLimitS).
   */
  async shellLaunch(command: string, signal: AbortSignal): Promise<RemoteLaunch> {
    await checkReachable(this.alias, signal);
    const remote = `python3 -c ${shQuote(shellWrapperScript())} ${shQuote(this.root ?? "~")} ${shQuote(command)} ${silentLimitS()} ${heartbeatMs() / 1000}`;
    return { host: this.alias, program: "ssh", args: sshArgs(this.alias, remote), env: sshEnv() };
  }
}
