import type { CronTask } from "@starling/protocol";
import type { HostStore, HostTransaction } from "../state/host-store.js";

/** A cron task as the host stores it: the public record plus the background session it runs in. */
export interface StoredCronTask extends CronTask {
  /** `<conversation>.background.NNNN`, allocated when the task is created; every firing runs there. */
  sessionId: string;
}

export const CronKeys = {
  task: (id: string) => `cron:task:${id}`,
  /** Label put before a background session's answers in the chat (e.g. `⏰ backup`). */
  sessionLabel: (sessionId: string) => `session:label:${sessionId}`,
} as const;

export function cronTasks(store: HostStore): StoredCronTask[] {
  return store.list<StoredCronTask>("cron:task:");
}

export function conversationTasks(store: HostStore, conversationId: string): StoredCronTask[] {
  return cronTasks(store).filter((t) => t.conversationId === conversationId);
}

/** The public record (what tools and /cron show). */
export function publicTask(task: StoredCronTask): CronTask {
  const { sessionId: _session, ...rest } = task;
  return rest;
}

/** The next `<conversation>.background.NNNN` id (a counter per conversation, shared with background agents). */
export function nextBackgroundSessionId(tx: HostTransaction, conversationId: string): string {
  return `${conversationId}.background.${String(tx.next(`background:${conversationId}`)).padStart(4, "0")}`;
}

/** The task that runs in background session `sessionId`, if any (a removed task's session has none). */
export function taskOfSession(store: HostStore, sessionId: string): StoredCronTask | undefined {
  return cronTasks(store).find((t) => t.sessionId === sessionId);
}

/** The label a background session's answers carry in the chat, if any. */
export function sessionLabel(store: HostStore, sessionId: string): string | undefined {
  return store.get<string>(CronKeys.sessionLabel(sessionId));
}
