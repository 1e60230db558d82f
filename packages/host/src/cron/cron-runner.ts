import type { ChatMessage } from "@starling/protocol";
import type { ConversationService } from "../conversations/conversation-service.js";
import { hasResumeMark } from "../sessions/recovery.js";
import { HostKeys, type HostStore } from "../state/host-store.js";
import { queueOutbound } from "../state/outbox.js";
import type { InboundItem } from "../state/records.js";
import { cronNow } from "./cron-clock.js";
import { CronKeys, cronTasks, type StoredCronTask } from "./cron-store.js";
import { nextRun, slotsBetween } from "./schedule.js";

/** A slot found this late (the host was down or stalled) is still run; older ones are skipped. */
export const CRON_GRACE_MS = 60_000;
const TICK_MS = 250;

/**
 * Fires due cron tasks (ARCHITECTURE §9 "Cron"). Each slot fires at most once: one sync batch
 * (commit point `cron_slot`) moves the task's `next_run_at` past now and admits the task's message
 * for its background session, so a restart never sees that slot as due again. Slots older than
 * CRON_GRACE_MS are skipped and the chat is told once, in the same batch. A slot that comes while the
 * task's previous run is not done (`runGoing`) is skipped in that same batch instead of admitted, and
 * counted in the task's `overlap_skips`: decided and recorded at one commit, so a crash can neither
 * both skip and run a slot nor lose one (the slot is due again until the batch is durable).
 */
export class CronRunner {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly service: ConversationService,
    /** Only "now" for slots follows the cron test clock (cron-clock.ts); the tick itself is real time. */
    private readonly now: () => Date = cronNow,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), TICK_MS);
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = this.now();
      for (const task of cronTasks(this.service.store)) {
        if (task.enabled && task.next_run_at && Date.parse(task.next_run_at) <= now.getTime()) await this.fire(task, now);
      }
    } catch (err) {
      this.service.log.error({ err: err instanceof Error ? err.message : String(err) }, "cron tick failed; retrying on the next tick");
    } finally {
      this.busy = false;
    }
  }

  private async fire(task: StoredCronTask, now: Date): Promise<void> {
    const { store } = this.service;
    const conversation = store.conversation(task.conversationId);
    const from = new Date(Date.parse(task.next_run_at!) - 1);
    const graceStart = new Date(now.getTime() - CRON_GRACE_MS);
    const late = slotsBetween(task.schedule, task.timezone, from, graceStart);
    const due = slotsBetween(task.schedule, task.timezone, late.newest ?? from, now).newest;
    const outcome = await store.commit("cron_slot", (tx) => {
      const current = store.get<StoredCronTask>(CronKeys.task(task.id));
      // Changed meanwhile (tool, /cron button): the next tick looks again.
      if (!current || current.next_run_at !== task.next_run_at || !current.enabled) return null;
      const next = nextRun(task.schedule, task.timezone, now)?.toISOString() ?? null;
      // A session that gave up restarting its worker waits for a newer message: the firing is that message.
      const overlap = due !== null && runGoing(store, current) && !this.service.supervisor.gaveUp(current.sessionId);
      let overlapped: NonNullable<StoredCronTask["overlap_skips"]> | null = null;
      if (overlap) {
        // Counted per run: the stretch of skips behind the run due at `last_run_at`.
        const stretch = current.overlap_skips?.run_due === current.last_run_at ? current.overlap_skips.count : 0;
        overlapped = { count: stretch + 1, last_at: due.toISOString(), run_due: current.last_run_at };
        tx.put(CronKeys.task(task.id), { ...current, next_run_at: next, overlap_skips: overlapped });
      } else {
        tx.put(CronKeys.task(task.id), { ...current, next_run_at: next, ...(due ? { last_run_at: due.toISOString() } : {}) });
      }
      if (!conversation) return null;
      if (due && !overlap) {
        const item: InboundItem & { kind: "actor" } = {
          seq: tx.next("inbound"),
          conversationId: conversation.id,
          sessionId: task.sessionId,
          messageId: `cron:${task.id}:${due.toISOString()}`,
          kind: "actor",
          message: taskMessage(current, due),
          admittedAt: now.toISOString(),
        };
        tx.put(HostKeys.inbound(item.seq), item);
      }
      if (late.count) {
        const runs = late.count === 1 ? "1 run" : `${late.count} runs`;
        queueOutbound(tx, this.service.target(conversation), {
          kind: "text",
          text: `⏰ Skipped ${runs} of '${current.name}' while Starling was down (the last one was due ${late.newest!.toISOString()}).`,
        });
      }
      return { fired: due !== null && !overlap, skipped: late.count, overlapped };
    });
    if (!outcome) return;
    if (outcome.overlapped) {
      this.service.log.warn(
        { task: task.id, due: due?.toISOString() ?? null, skippedInARow: outcome.overlapped.count, runDue: outcome.overlapped.run_due },
        "cron firing skipped: the task's previous run has not finished",
      );
      return;
    }
    this.service.log.info({ task: task.id, due: due?.toISOString() ?? null, skipped: outcome.skipped }, "cron_task_due");
  }
}

/**
 * The task's previous run is not done: its message is still stored (not yet handed off to the session's
 * worker), or the session's resume mark says its worker has work to finish (set with the hand-off, cleared
 * when the worker is found resting). Both are host state read in the `cron_slot` build.
 */
export function runGoing(store: HostStore, task: StoredCronTask): boolean {
  return store.inboundOf(task.sessionId).length > 0 || hasResumeMark(store, task.sessionId);
}

function taskMessage(task: StoredCronTask, due: Date): ChatMessage {
  const text =
    `[Scheduled task '${task.name}' (${task.id}), due ${due.toISOString()} (${task.timezone}). ` +
    `Your answer is sent to the user.]\n\n${task.task}`;
  return { role: "user", time: due.toISOString(), content: [{ type: "text", text }] };
}
