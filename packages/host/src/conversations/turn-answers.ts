import type { HostTransaction } from "../state/host-store.js";

/**
 * The message ids a foreground turn's reply names (`turnEnd.messageIds` of its outbox item), so a
 * channel can tell which messages it answers (the web channel's `/v1` waits for its own). A superseded
 * or cancelled turn writes no reply of its own: its ids go with the session's next turn end, which
 * answers those messages too. Kept in memory only: what reads them is a waiting HTTP request, and none
 * outlives the host (after a restart the next reply names its own turn's ids only).
 */
export class TurnAnswers {
  private readonly carried = new Map<string, string[]>();

  /**
   * Inside the commit of a turn end's reply: the ids it names, with those carried from superseded or
   * cancelled turns (cleared once the commit is durable). Undefined for a worker that sends none.
   */
  forReply(tx: HostTransaction, sessionId: string, ids: string[] | undefined): string[] | undefined {
    const carried = this.carried.get(sessionId);
    if (carried) {
      tx.afterCommit(() => {
        if (this.carried.get(sessionId) === carried) this.carried.delete(sessionId);
      });
    }
    return ids && carried ? union(carried, ids) : ids;
  }

  /** Inside the commit of a superseded or cancelled turn's event: its ids wait for the next reply. */
  carry(tx: HostTransaction, sessionId: string, ids: string[] | undefined): void {
    if (!ids?.length) return;
    tx.afterCommit(() => this.carried.set(sessionId, union(this.carried.get(sessionId) ?? [], ids)));
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}
