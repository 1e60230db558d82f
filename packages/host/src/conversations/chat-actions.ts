import type { PlanStep } from "@starling/protocol";
import { extractAttachments } from "../channels/attachments.js";
import type { HostStore } from "../state/host-store.js";
import { queueOutbound } from "../state/outbox.js";
import { chatLabel } from "../agents/agent-store.js";
import { ActionError, type ActionHandlers } from "./host-action.js";
import { conversationDir } from "./workspace.js";

/** A session's latest plan (update_plan), shown in the progress panel of its turn and in /status. */
export interface SessionPlan {
  turnId: number | null;
  plan: PlanStep[];
  explanation?: string;
  updatedAt: string;
}
export const planKey = (sessionId: string) => `plan:${sessionId}`;

export function sessionPlan(store: HostStore, sessionId: string): SessionPlan | undefined {
  return store.get<SessionPlan>(planKey(sessionId));
}

const MARKS = { completed: "✓", in_progress: "▶", pending: "○" } as const;

/** `✓ done step` / `▶ current step` / `○ later step`, one per line. */
export function planLines(plan: SessionPlan, maxSteps = Infinity): string[] {
  const lines = plan.plan.slice(0, maxSteps).map((s) => `${MARKS[s.status]} ${s.step}`);
  const more = plan.plan.length - lines.length;
  return more > 0 ? [...lines, `… and ${more} more step${more === 1 ? "" : "s"}`] : lines;
}

/** user_tell and update_plan (reference §3.11; Starling shows the plan, Stellaclaw ignores it). */
export const chatHandlers: ActionHandlers = {
  user_tell: {
    apply(payload, tx, ctx) {
      // Paths are checked now, so the model hears about a bad one; the sender resolves them again.
      const workspace = conversationDir(ctx.service.settings.workdir, ctx.conversation.id);
      const found = extractAttachments(payload.text, workspace);
      if (found.rejected.length) {
        throw new ActionError(`attachment ${found.rejected.map((r) => `${r.path}: ${r.reason}`).join("; ")}. Attach files inside the workspace.`);
      }
      if (!found.text && !found.attachments.length) return { sent: false, attachments: 0 };
      // From a subagent, background agent or cron run: labelled, so the chat can tell it from the main agent.
      const label = chatLabel(ctx.service.store, ctx.sessionId);
      queueOutbound(tx, ctx.service.target(ctx.conversation), { kind: "text", text: label ? `${label}\n\n${payload.text}` : payload.text });
      return { sent: true, attachments: found.attachments.length };
    },
  },
  update_plan: {
    apply(payload, tx, ctx) {
      const inProgress = payload.plan.filter((s) => s.status === "in_progress").length;
      if (inProgress > 1) throw new ActionError(`plan: ${inProgress} steps are in_progress; mark at most one in_progress.`);
      const plan: SessionPlan = { turnId: ctx.turnId, plan: payload.plan, updatedAt: new Date().toISOString() };
      if (payload.explanation?.trim()) plan.explanation = payload.explanation.trim();
      tx.put(planKey(ctx.sessionId), plan);
      tx.afterCommit(() => ctx.planChanged(ctx.sessionId, ctx.turnId));
      return { updated: true, steps: payload.plan.length };
    },
  },
};
