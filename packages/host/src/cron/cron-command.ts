import type { CommandReply, InlineButton } from "../channels/channel.js";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { ConversationRecord } from "../state/records.js";
import { changeTask } from "./cron-actions.js";
import { conversationTasks, type StoredCronTask } from "./cron-store.js";

const CALLBACK = /^cron:(enable|disable|remove):(cron_\d+)$/;

/** The task's last stretch of firings skipped behind a run that was still going (cron-runner.ts). */
export function overlapText(skips: NonNullable<StoredCronTask["overlap_skips"]>): string {
  const firings = skips.count === 1 ? "1 firing" : `${skips.count} firings`;
  const run = skips.run_due ? `the run due ${skips.run_due}` : "a run";
  return `skipped ${firings} while ${run} was still going (the last due ${skips.last_at})`;
}

/** `/cron`: the chat's tasks, each with enable/disable and remove buttons. */
export function cronCommand(service: ConversationService, conversation: ConversationRecord): CommandReply {
  const tasks = conversationTasks(service.store, conversation.id);
  if (!tasks.length) return { text: "No scheduled tasks in this chat. Ask me to schedule one (e.g. \"remind me every day at 8\")." };
  const lines = tasks.map((t) => {
    const state = t.enabled ? `next ${t.next_run_at ?? "never"}` : "disabled";
    const model = t.model ? `, on ${t.model}` : "";
    const skips = t.overlap_skips ? `, ${overlapText(t.overlap_skips)}` : "";
    return `${t.enabled ? "⏰" : "⏸"} ${t.id} '${t.name}': ${t.schedule} (${t.timezone})${model}, ${state}${t.last_run_at ? `, last ${t.last_run_at}` : ""}${skips}`;
  });
  const buttons: InlineButton[][] = tasks.map((t) => [
    t.enabled ? { text: `Disable ${t.name}`, data: `cron:disable:${t.id}` } : { text: `Enable ${t.name}`, data: `cron:enable:${t.id}` },
    { text: `Remove ${t.name}`, data: `cron:remove:${t.id}` },
  ]);
  return { text: `Scheduled tasks:\n${lines.join("\n")}`, buttons };
}

/** A /cron button press; null when the data is not a cron button. */
export async function cronCallback(service: ConversationService, conversation: ConversationRecord, data: string): Promise<CommandReply | null> {
  const match = CALLBACK.exec(data);
  if (!match) return null;
  const change = match[1] as "enable" | "disable" | "remove";
  const id = match[2]!;
  const done = await service.store.commit("coordinate", (tx) => {
    const task = conversationTasks(service.store, conversation.id).find((t) => t.id === id);
    if (!task) return null;
    return { task, stopped: changeTask(tx, task, change, service).stopped };
  });
  if (!done) return { text: `Task ${id} no longer exists in this chat.` };
  const verb = change === "remove" ? "Removed" : change === "enable" ? "Enabled" : "Disabled";
  return { text: `${verb} '${done.task.name}' (${id}).${stoppedText(done.stopped)}` };
}

/** What the reply says of the subagents a removal or disabling stopped ("" when none). */
function stoppedText(ids: string[]): string {
  if (!ids.length) return "";
  return ` Stopped ${ids.length === 1 ? "1 subagent" : `${ids.length} subagents`} its runs had started and that still ran: ${ids.join(", ")}.`;
}
