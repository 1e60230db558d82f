/**
 * Sessions whose /cancel has recorded the kills of their subagents and is still on its way to the
 * session's worker (cancelSubagents). A subagent_join of such a session answers nothing meanwhile: an
 * answer now (the kill it reads, or an agent's end) would let the joining turn go on — another model
 * call, more tools, even its final answer — before the cancel that the user sent reaches it. The join
 * answers once its call is cut off (the worker takes that answer as the cancelled call's result).
 */
export class CancelsInFlight {
  private readonly counts = new Map<string, number>();

  /** Marks `sessionId` until the returned function is called (once; a second call does nothing). */
  begin(sessionId: string): () => void {
    this.counts.set(sessionId, (this.counts.get(sessionId) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.counts.get(sessionId) ?? 1) - 1;
      if (left > 0) this.counts.set(sessionId, left);
      else this.counts.delete(sessionId);
    };
  }

  has(sessionId: string): boolean {
    return this.counts.has(sessionId);
  }
}
