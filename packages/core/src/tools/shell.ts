import { lazyArguments } from "@starling/protocol";
import { z } from "zod";
import { defineTool, type ToolContext, type ToolOutput } from "./define-tool.js";
import { ToolError, WorkerStopping } from "./errors.js";
import { silentLimitS } from "./remote/ssh.js";
import { connectionLost, type ShellSession, type WaitOutcome } from "./shell-sessions.js";

export const DEFAULT_WAIT_MS = 30_000;
export const DEFAULT_INPUT_WAIT_MS = 2_000;
export const MAX_WAIT_MS = 300_000;
export const DEFAULT_SHELL_OUTPUT_CHARS = 8_000;
export const MAX_SHELL_OUTPUT_CHARS = 20_000;

/** Session ids the model may use: 1–128 of `[A-Za-z0-9_-]`. */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, "session_id must be 1-128 characters of A-Z a-z 0-9 _ -");

export const shellParameters = lazyArguments(() => z.object({
  command: z
    .string()
    .optional()
    .describe("Shell command to run (bash -c) in the workspace. Omit to poll or feed an existing session given by session_id."),
  session_id: SessionId.optional().describe(
    "Session to poll or send input to (from an earlier result). With command: a name for the new session; a command still running under that name is stopped first.",
  ),
  input: z.string().optional().describe("Text written verbatim to the session's stdin (no newline added; include \\n to press Enter)."),
  wait_ms: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .optional()
    .describe(`How long to wait for the command to finish, in ms (default ${DEFAULT_WAIT_MS}; ${DEFAULT_INPUT_WAIT_MS} when sending input; 0 returns at once). If it is still running then, it keeps running in the background.`),
  max_output_chars: z
    .number()
    .int()
    .min(0)
    .max(MAX_SHELL_OUTPUT_CHARS)
    .optional()
    .describe(`Most output characters to show (default ${DEFAULT_SHELL_OUTPUT_CHARS}); longer output is shown as head + tail, the full output is saved to a file.`),
}));

const description = `Run a shell command in the workspace (bash -c, working directory = workspace root; no state such as cwd or variables carries over between commands).
Waits up to wait_ms for the command to finish and returns its output (stdout and stderr together) and exit code.
A command still running after wait_ms keeps running in the background as a session: the result gives its session_id. Call shell again with that session_id (no command) to get new output, add input to write to its stdin, and use shell_close to stop it. Use this for servers, watchers and long builds.
Long output is shown as head + tail; the full output is saved under .output/shell/ (read it with file_read or grep).
Prefer file_read/grep/glob/ls/edit over cat/grep/find/sed for files.`;

export const shellTool = defineTool({
  name: "shell",
  description,
  parameters: shellParameters,
  readOnly: false,
  remote: true,
  async execute(args, ctx) {
    const command = args.command?.trim() ? args.command : undefined;
    const maxChars = args.max_output_chars ?? DEFAULT_SHELL_OUTPUT_CHARS;
    if (command === undefined) {
      if (args.session_id === undefined) {
        throw new ToolError("invalid_arguments", "Missing command: give command to start a new shell command, or session_id to poll a running session.");
      }
      return poll(args.session_id, args.input, args.wait_ms, maxChars, ctx);
    }
    let note = "";
    const id = args.session_id ?? ctx.shells.newId();
    const previous = ctx.shells.get(id);
    if (previous) {
      const wasRunning = previous.exit === null;
      await ctx.shells.kill(previous);
      ctx.shells.forget(id);
      if (wasRunning) note = `(The command previously running in session ${id} was stopped.)\n`;
    }
    const launch = ctx.remote ? await ctx.remote.shellLaunch(command, ctx.signal) : undefined;
    const session = await ctx.shells.start(id, command, launch);
    if (args.input !== undefined) await ctx.shells.write(session, args.input);
    const outcome = await ctx.shells.wait(session, args.wait_ms ?? DEFAULT_WAIT_MS, ctx.signal);
    if (outcome === "aborted") {
      const stopping = ctx.shells.kill(session);
      // A remote command is stopped by its wrapper, a round trip away (up to REMOTE_STOP_MS): longer than an aborted
      // tool may take (ABORT_GRACE_MS). The turn's own stop (killAll at cancel or shutdown) waits for it; this result does not.
      if (session.remote) void stopping;
      else await stopping;
      const preview = ctx.shells.readNew(session, maxChars);
      ctx.shells.forget(id);
      const stopped = session.remote ? `is being stopped on ${session.remote.host} (its process group is killed there)` : "was stopped (process group killed)";
      // After a settings change the turn resumes under the new settings: a command repeated blindly could run elsewhere.
      const restarted = ctx.signal.reason instanceof WorkerStopping;
      const why = restarted ? "the worker restarted (a /model, /sandbox, /mcp or /remote change, or the host stopping)" : "the turn was cancelled or interrupted";
      const after = restarted ? " The turn goes on under the current settings: check where tools run now (locally or on which SSH host) before repeating it." : "";
      return {
        content: `${preview.text}${sepAfter(preview.text)}[interrupted: ${why}, so the command ${stopped}. Full output: ${session.outDisplay}]${after}`,
        isError: true,
        details: { kind: "aborted", ...facts(session, true) },
      };
    }
    return report(session, outcome, maxChars, note, ctx);
  },
});

async function poll(id: string, input: string | undefined, waitMs: number | undefined, maxChars: number, ctx: ToolContext): Promise<ToolOutput> {
  const session = ctx.shells.get(id);
  if (!session) {
    const active = ctx.shells.ids();
    throw new ToolError(
      "not_found",
      `Unknown shell session ${id}: it has finished and was already reported, was closed, was stopped (by /cancel, or by a restart of this session's worker, which stops every command), or never existed. ` +
        (active.length ? `Running sessions: ${active.join(", ")}.` : "No sessions are running.") +
        " Start a new command with shell {command}.",
    );
  }
  if (input !== undefined) await ctx.shells.write(session, input);
  const outcome = await ctx.shells.wait(session, waitMs ?? (input !== undefined ? DEFAULT_INPUT_WAIT_MS : DEFAULT_WAIT_MS), ctx.signal);
  return report(session, outcome, maxChars, "", ctx);
}

function report(session: ShellSession, outcome: WaitOutcome, maxChars: number, note: string, ctx: ToolContext): ToolOutput {
  const preview = ctx.shells.readNew(session, maxChars);
  const body = note + (preview.text === "" ? "(no new output)" : preview.text);
  const elapsed = formatSeconds(Date.now() - session.startedAt);
  if (outcome === "exited" && session.exit) {
    ctx.shells.forget(session.id);
    if (session.remote && connectionLost(session)) {
      const host = session.remote.host;
      const how = session.remote.silentFor !== null ? `nothing heard from it for ${session.remote.silentFor} s` : "ssh exit 255";
      return {
        content:
          `${body}${sepAfter(body)}[connection to SSH host ${host} lost after ${elapsed} (${how}, no end reported by the command) · full output: ${session.outDisplay}]\n` +
          `The command's outcome is unknown: its wrapper on ${host} stops it once the connection closes there, or after ${silentLimitS()} s without a word from here if the network went silent, so it may have done only part of its work. ` +
          `Check its effects on ${host} before running it again; if ${host} cannot be reached, the next remote call says why.`,
        isError: true,
        details: { ...facts(session, preview.truncated), exitCode: session.exit.code, connectionLost: true },
      };
    }
    const { code, signal } = session.exit;
    const status = code !== null ? `exit code ${code}` : `killed by ${signal ?? "a signal"}`;
    return {
      content: `${body}${sepAfter(body)}[${status} · ${elapsed} · full output: ${session.outDisplay}]`,
      details: { ...facts(session, preview.truncated), exitCode: code, signal },
    };
  }
  const why = outcome === "aborted" ? "stopped waiting because the turn was interrupted" : "still running";
  const hint =
    `It keeps running in the background as session ${session.id}. ` +
    `Poll: shell {"session_id":"${session.id}"}; send input: shell {"session_id":"${session.id}","input":"...\\n"}; stop: shell_close {"session_id":"${session.id}"}.`;
  return {
    content: `${body}${sepAfter(body)}[${why} after ${elapsed}. ${hint} Full output: ${session.outDisplay}]`,
    details: facts(session, preview.truncated),
  };
}

function facts(session: ShellSession, truncated: boolean): Record<string, unknown> {
  return {
    sessionId: session.id,
    command: session.command,
    running: session.exit === null,
    pid: session.pid,
    outPath: session.outDisplay,
    outputTruncated: truncated,
  };
}

function sepAfter(text: string): string {
  return text === "" || text.endsWith("\n") ? "" : "\n";
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
