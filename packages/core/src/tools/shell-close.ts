import { lazyArguments } from "@starling/protocol";
import { z } from "zod";
import { defineTool } from "./define-tool.js";
import { SessionId } from "./shell.js";

export const shellCloseParameters = lazyArguments(() => z.object({
  session_id: SessionId.describe("The shell session to stop, as given by an earlier shell result."),
}));

export const shellCloseTool = defineTool({
  name: "shell_close",
  description:
    "Stop a background shell session started by shell: kills its whole process group (SIGTERM, then SIGKILL) and returns its last output.",
  parameters: shellCloseParameters,
  readOnly: false,
  async execute(args, ctx) {
    const session = ctx.shells.get(args.session_id);
    if (!session) {
      return {
        content: `No shell session ${args.session_id} is open (it already finished and was reported, was closed, or never existed); nothing to close.`,
        details: { sessionId: args.session_id, closed: false, reason: "unknown_session" },
      };
    }
    const wasRunning = session.exit === null;
    await ctx.shells.kill(session);
    const preview = ctx.shells.readNew(session, 4_000);
    ctx.shells.forget(session.id);
    const state = wasRunning ? "stopped (process group killed)" : "had already finished";
    const tail = preview.text ? `\nLast output:\n${preview.text}` : "";
    return {
      content: `Closed shell session ${session.id}: the command ${state}. Full output: ${session.outDisplay}${tail}`,
      details: { sessionId: session.id, closed: true, wasRunning, outPath: session.outDisplay },
    };
  },
});
