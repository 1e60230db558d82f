import { actionsForSessionType, COORDINATE_ACTIONS, type CoordinateAction, type SessionType } from "@starling/protocol";
import { defineTool, type AnyTool } from "../define-tool.js";
import { askHost } from "./ask-host.js";
import { skillTools } from "../../skills/skill-tools.js";
import { cronTools } from "./cron-tools.js";
import { agentTools } from "./agent-tools.js";

/**
 * Tools the host carries out (ARCHITECTURE §9 "host"). Each is `readOnly` for crash recovery: the host
 * acts once per call id, so re-running one after a crash returns the recorded outcome.
 */
export const userTellTool = defineTool({
  name: "user_tell",
  description:
    "Send the user a message before your turn ends (progress, a question you can proceed without, an early result): it is queued at once and " +
    "sent in order with your other messages, ahead of your final answer. " +
    "Files: put `<attachment>relative/path</attachment>` in the text (inside the workspace). Your final answer still ends the turn.",
  parameters: COORDINATE_ACTIONS.user_tell.args,
  readOnly: true,
  async execute(args, ctx) {
    const result = await askHost(ctx, "user_tell", args);
    const files = result.attachments ? ` with ${result.attachments} attachment(s)` : "";
    // `sent` means queued in the host's outbox: the chat's paced sender delivers it later, in order.
    const queued = `Queued for the user${files}: it is sent in order with your other messages, ahead of your final answer.`;
    return { content: result.sent ? queued : "Nothing to send (empty text and no attachments).", details: result };
  },
});

export const updatePlanTool = defineTool({
  name: "update_plan",
  description:
    "Show the user your plan for this task: every step in order with its status (pending, in_progress, completed; at most one in_progress). " +
    "Call it again whenever a step changes; the user sees it in the progress panel and in /status.",
  parameters: COORDINATE_ACTIONS.update_plan.args,
  readOnly: true,
  async execute(args, ctx) {
    const result = await askHost(ctx, "update_plan", args);
    return { content: `Plan updated (${result.steps} steps).`, details: result };
  },
});

/**
 * Host tools by action. Other host actions (skills, agents) add their tool here once core has one;
 * an action without a tool is simply not offered.
 */
const HOST_TOOLS: Partial<Record<CoordinateAction, AnyTool>> = {
  user_tell: userTellTool,
  update_plan: updatePlanTool,
  ...cronTools(),
  ...skillTools(),
  ...agentTools(),
};

/**
 * The host tools of a session (reference §3.2): those its session type has, whose action the host
 * serves (`initialize.hostActions`; absent: none, as an embedder may not answer `host/coordinate`).
 */
export function hostTools(sessionType: SessionType, hostActions: readonly string[] | undefined): AnyTool[] {
  const served = new Set(hostActions ?? []);
  return actionsForSessionType(sessionType)
    .filter((action) => served.has(action))
    .flatMap((action) => (HOST_TOOLS[action] ? [HOST_TOOLS[action]] : []));
}
