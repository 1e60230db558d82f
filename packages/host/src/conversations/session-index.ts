import { agentOfSession } from "../agents/agent-store.js";
import { cronTasks, type StoredCronTask } from "../cron/cron-store.js";
import type { HostStore } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";

export type SessionType = "foreground" | "background" | "subagent";

/**
 * Which conversation a session belongs to and what kind of session it is, from the stored records that
 * name the session — never by parsing its id (channel ids may contain dots): a conversation's
 * foreground session, a cron task's background session, an agent's record (keyed by its session id,
 * read directly so a record staged in the commit being built is found too). Foreground and cron
 * sessions are kept in a map that commit notifications of `conv:` and `cron:task:` keep in step.
 */
export class SessionIndex {
  private readonly sessions = new Map<string, { conversationId: string; type: SessionType }>();

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
    return agentOfSession(this.store, sessionId)?.conversationId ?? this.sessions.get(sessionId)?.conversationId;
  }

  /** A session no record names counts as a foreground session (what the worker is told in `initialize`). */
  typeOf(sessionId: string): SessionType {
    return agentOfSession(this.store, sessionId)?.kind ?? this.sessions.get(sessionId)?.type ?? "foreground";
  }

  // A session keeps its conversation after a /new (same id) or a deleted task: its events may still come.
  private noteConversation(conversation: ConversationRecord): void {
    this.sessions.set(conversation.foreground.sessionId, { conversationId: conversation.id, type: "foreground" });
  }

  private noteTask(task: StoredCronTask): void {
    this.sessions.set(task.sessionId, { conversationId: task.conversationId, type: "background" });
  }
}
