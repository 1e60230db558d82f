import { agentOfSession } from "../agents/agent-store.js";
import { cronTasks, type StoredCronTask } from "../cron/cron-store.js";
import type { HostStore } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";

/**
 * Which conversation a session belongs to, from the stored records that name the session — never by
 * parsing its id (channel ids may contain dots): a conversation's foreground session, a cron task's
 * background session, an agent's record (keyed by its session id, read directly so a record staged in
 * the commit being built is found too). Foreground and cron sessions are kept in a map that commit
 * notifications of `conv:` and `cron:task:` keep in step.
 */
export class SessionIndex {
  private readonly conversationIds = new Map<string, string>();

  constructor(private readonly store: HostStore) {
    for (const conversation of store.conversations()) this.noteConversation(conversation);
    for (const task of cronTasks(store)) this.noteTask(task);
    store.subscribe("conv:", (changes) => {
      for (const { value } of changes) if (value) this.noteConversation(value as ConversationRecord);
    });
    store.subscribe("cron:task:", (changes) => {
      for (const { value } of changes) if (value) this.noteTask(value as StoredCronTask);
    });
  }

  conversationIdOf(sessionId: string): string | undefined {
    return agentOfSession(this.store, sessionId)?.conversationId ?? this.conversationIds.get(sessionId);
  }

  // A session keeps its conversation after a /new (same id) or a deleted task: its events may still come.
  private noteConversation(conversation: ConversationRecord): void {
    this.conversationIds.set(conversation.foreground.sessionId, conversation.id);
  }

  private noteTask(task: StoredCronTask): void {
    this.conversationIds.set(task.sessionId, task.conversationId);
  }
}
