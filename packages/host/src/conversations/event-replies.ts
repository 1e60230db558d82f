import type { SessionEvent } from "@starling/protocol";
import type { Channel, ChatRef, TurnActivity, TurnPhase } from "../channels/channel.js";
import { NOTHING_TO_CONTINUE, type EventContext } from "../sessions/supervisor.js";
import { HostKeys, type HostTransaction } from "../state/host-store.js";
import type { ConversationRecord, EndedTurn } from "../state/records.js";
import { queueOutbound } from "../state/outbox.js";
import type { ConversationService } from "./conversation-service.js";
import { sessionLabel } from "../cron/cron-store.js";
import { planLines, sessionPlan } from "./chat-actions.js";
import { agentEventReplies, agentGaveUp } from "../agents/agent-events.js";
import { hostRedactor } from "../security/host-secrets.js";
import type { TurnAnswers } from "./turn-answers.js";
import { madeBefore } from "./unsent-images.js";
import { reasonAfter } from "./turn-control-replies.js";
import { compactedNotice } from "./compact-command.js";

/** Follows an answer the model stopped at its output limit (`turn_completed.outputLimited`). */
export const OUTPUT_LIMIT_NOTE = "⚠️ The answer stops here: the model reached its output limit. Say “go on” for the rest.";
/** Follows an answer the provider's content filter stopped (`turn_completed.contentFiltered`): more will not come. */
export const CONTENT_FILTER_NOTE = "⚠️ The answer stops here: the model provider's content filter stopped it. Asking for more will not bring the rest; rephrasing the request may help.";

/** The note that follows an answer cut short, if it was. */
const cutNote = (event: { outputLimited?: true; contentFiltered?: true }): string =>
  event.contentFiltered ? `\n\n${CONTENT_FILTER_NOTE}` : event.outputLimited ? `\n\n${OUTPUT_LIMIT_NOTE}` : "";

/**
 * What a durable session event means for the chat: the reply, a failure notice, a recovery notice. A
 * turn's last reply names the messages it answers (`turnEnd.messageIds`): none for a background run (a
 * cron task's turn answers no chat message), absent from a worker that does not send them.
 */
export function writeEventReplies(
  service: ConversationService,
  event: SessionEvent,
  tx: HostTransaction,
  ctx: EventContext,
  answers: TurnAnswers,
): void {
  const conversation = service.conversationOfSession(ctx.sessionId);
  if (!conversation) return;
  if (agentEventReplies(service, event, tx, ctx)) return;
  const target = service.target(conversation);
  const foreground = ctx.sessionId === conversation.foreground.sessionId;
  const answered = (ids: string[] | undefined) => {
    const messageIds = foreground ? answers.forReply(tx, ctx.sessionId, ids) : (ids ?? []);
    return messageIds ? { messageIds } : {};
  };
  switch (event.type) {
    case "turn_completed": {
      const text = event.message.content
        .filter((i) => i.type === "text")
        .map((i) => i.text)
        .join("\n\n")
        .trim();
      const answer = (text || "(The model finished without a text answer.)") + cutNote(event);
      queueOutbound(tx, target, { kind: "text", text: labelled(service, ctx.sessionId, answer), turnEnd: { outcome: "completed", canContinue: false, ...answered(event.messageIds) } });
      break;
    }
    case "turn_failed":
      queueOutbound(tx, target, {
        kind: "text",
        text: (event.canContinue
          ? `⚠️ The turn failed (${event.error.kind}): ${event.error.message}\nSend /continue to try again.`
          : event.error.kind === "context_overflow"
            ? `⚠️ The turn failed (${event.error.kind}): ${event.error.message}` // the message says what to do
            : `⚠️ The turn failed (${event.error.kind}): ${event.error.message}\nThis needs a fix before retrying (check the model settings); then send a new message.`) +
          madeBefore(event.attachments, "\n\n"),
        turnEnd: { outcome: "failed", canContinue: event.canContinue, ...answered(event.messageIds) },
      });
      break;
    case "turn_recovered":
      if (ctx.autoContinued) break;
      if (ctx.turnAbandoned) {
        const text =
          `⚠️ This run was interrupted: its worker stopped unexpectedly${event.detail ? ` (${event.detail})` : ""} every time it ` +
          "was continued automatically, so it is given up. The task runs again at its next scheduled time (/cron lists it).";
        queueOutbound(tx, target, { kind: "text", text: labelled(service, ctx.sessionId, text), turnEnd: { outcome: "failed", canContinue: false, ...answered(event.messageIds) } });
        break;
      }
      queueOutbound(tx, target, {
        kind: "text",
        text: `⚠️ The last turn was interrupted (the worker stopped unexpectedly${event.detail ? `; ${event.detail}` : ""}). Send /continue to resume it.`,
        turnEnd: { outcome: "interrupted", canContinue: true, ...answered(event.messageIds) },
      });
      break;
    case "manual_compaction":
      queueOutbound(tx, target, { kind: "text", text: labelled(service, ctx.sessionId, compactedNotice(event)) });
      break;
    case "turn_superseded":
    case "turn_cancelled":
      if (foreground) answers.carry(tx, ctx.sessionId, event.messageIds);
      if (event.attachments?.length) queueOutbound(tx, target, { kind: "text", text: labelled(service, ctx.sessionId, madeBefore(event.attachments, "")) });
      break;
    default:
      break;
  }
}

/**
 * The notice for a session whose worker failed `failures` times in a row and is no longer restarted
 * (supervisor `onGiveUp`): its messages stay stored, so the user learns why nothing answers and what
 * tries again. Written inside the supervisor's `giveup` commit, which also drops the user's stored
 * /continue: a restarted host neither sends that continue nor loses the notice asking for a new one.
 */
export function writeGiveUpNotice(service: ConversationService, sessionId: string, failures: number, lastError: string, tx: HostTransaction): void {
  const conversation = service.conversationOfSession(sessionId);
  if (!conversation) return;
  if (agentGaveUp(service, sessionId, hostRedactor().redact(lastError), tx)) return;
  const text =
    `⚠️ I could not run this conversation's session: ${failures === 1 ? "its worker could not be started" : `its worker failed ${failures} times in a row`} ` +
    `(last: ${hostRedactor().redact(lastError)}). Your messages are kept. Send /continue or a new message to try again; ` +
    "/status shows the last error.";
  queueOutbound(tx, service.target(conversation), { kind: "text", text: labelled(service, sessionId, text) });
}

/**
 * A /continue the user was told would run once the worker was ready (or a turn slot free) found nothing to
 * continue (supervisor `onContinueRefused`, inside the commit that clears the stored continue).
 */
export function writeContinueRefusedNotice(service: ConversationService, sessionId: string, reason: string, tx: HostTransaction): void {
  const conversation = service.conversationOfSession(sessionId);
  if (!conversation) return;
  const why = reasonAfter(NOTHING_TO_CONTINUE, reason) ?? "the last turn finished";
  queueOutbound(tx, service.target(conversation), { kind: "text", text: labelled(service, sessionId, `Nothing to continue after all: ${why}.`) });
}

/** A background session's text for the chat, after its label (`⏰ <task>`) when it has one. */
function labelled(service: ConversationService, sessionId: string, text: string): string {
  const label = sessionLabel(service.store, sessionId);
  return label ? `${label}\n\n${text}` : text;
}

const PHASES: Partial<Record<SessionEvent["type"], TurnPhase>> = {
  turn_started: "calling_model",
  tool_started: "running_tool",
  turn_completed: "done",
  turn_failed: "failed",
  turn_cancelled: "cancelled",
  turn_superseded: "done",
};

/** Tracks turn start times so the panel can show elapsed time; maps events to channel activity. */
export class ActivityRelay {
  private started = new Map<string, number>();
  /** The last activity of each session's running turn (to re-show it with a new plan). */
  private latest = new Map<string, TurnActivity>();
  constructor(
    private readonly service: ConversationService,
    private readonly channels: Map<string, Channel>,
  ) {}

  relay(sessionId: string, event: SessionEvent): void {
    if (event.type === "assistant_delta") return this.relayDelta(sessionId, event.turnId, event.text);
    const activity = this.activityOf(sessionId, event);
    if (!activity) return;
    if (isFinal(activity.phase)) {
      this.started.delete(activity.turnKey);
      this.latest.delete(sessionId);
    } else this.latest.set(sessionId, activity);
    this.channels.get(activity.chat.channelId)?.turnActivity(activity);
  }

  /** Streamed text of a foreground turn, to channels that show it (background agents' text is not the chat's). */
  private relayDelta(sessionId: string, turnId: number, text: string): void {
    const conversation = this.service.conversationOfSession(sessionId);
    if (!conversation || sessionId !== conversation.foreground.sessionId) return;
    const channel = this.channels.get(conversation.channelId);
    if (!channel?.assistantDelta) return;
    const turnKey = `${sessionId}@${conversation.foreground.generation}#${turnId}`;
    channel.assistantDelta({ chat: chatOf(conversation), conversationId: conversation.id, turnKey, text });
  }

  /** update_plan during a turn: the panel shows the new plan at once. */
  planChanged(sessionId: string, turnId: number | null): void {
    const latest = this.latest.get(sessionId);
    if (!latest || !latest.turnKey.endsWith(`#${turnId}`)) return;
    if (turnId === null) return;
    const activity = { ...latest, plan: this.planOf(sessionId, turnId) };
    this.latest.set(sessionId, activity);
    this.channels.get(activity.chat.channelId)?.turnActivity(activity);
  }

  /** The session's plan lines when the plan was set in this turn. */
  private planOf(sessionId: string, turnId: number): string[] | undefined {
    const plan = sessionPlan(this.service.store, sessionId);
    return plan && plan.turnId === turnId ? planLines(plan) : undefined;
  }

  /**
   * Inside the commit of a turn's final event: when the turn has a progress panel, its final state
   * is stored too, so a host killed before the panel's last edit still shows it after the restart.
   */
  recordEnd(sessionId: string, event: SessionEvent, tx: HostTransaction): void {
    const activity = this.activityOf(sessionId, event);
    if (!activity || !isFinal(activity.phase)) return;
    if (this.service.store.get(HostKeys.panel(activity.turnKey)) === undefined) return;
    const ended: EndedTurn = { activity, elapsedMs: Date.now() - activity.startedAt };
    tx.put(HostKeys.panelEnd(activity.turnKey), ended);
  }

  private activityOf(sessionId: string, event: SessionEvent): TurnActivity | null {
    if (!("turnId" in event)) return null;
    const conversation = this.service.conversationOfSession(sessionId);
    if (!conversation || !this.channels.has(conversation.channelId)) return null;
    // /new starts the session's turn ids again: the generation keeps turn keys (and panels) apart.
    const generation = sessionId === conversation.foreground.sessionId ? `@${conversation.foreground.generation}` : "";
    const turnKey = `${sessionId}${generation}#${event.turnId}`;
    let phase = PHASES[event.type];
    if (event.type === "progress") phase = event.phase === "interrupting" ? undefined : event.phase;
    if (!phase) return null;
    if (!this.started.has(turnKey)) this.started.set(turnKey, Date.now());
    return {
      chat: chatOf(conversation),
      conversationId: conversation.id,
      turnKey,
      model: conversation.modelAlias ?? "?",
      phase,
      toolName: event.type === "tool_started" ? event.toolName : event.type === "progress" ? event.toolName : undefined,
      // `turn_started` stands for the turn's first model call (the worker sends no `calling_model` progress for it).
      step: event.type === "progress" ? event.step : event.type === "turn_started" ? 1 : undefined,
      startedAt: this.started.get(turnKey)!,
      detail: event.type === "turn_failed" ? event.error.message : event.type === "progress" ? event.text : undefined,
      plan: this.planOf(sessionId, event.turnId),
      ...(event.type === "turn_started" ? { messageIds: event.messageIds } : {}),
    };
  }
}

function chatOf(conversation: ConversationRecord): ChatRef {
  return {
    channelId: conversation.channelId,
    chatId: conversation.chatId,
    type: "private",
    title: "",
    ...(conversation.threadId === undefined ? {} : { threadId: conversation.threadId }),
  };
}

function isFinal(phase: TurnPhase): boolean {
  return phase === "done" || phase === "failed" || phase === "cancelled";
}
