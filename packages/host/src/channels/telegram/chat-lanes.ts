/**
 * One queue per chat: everything the channel sends to a chat (outbox items, progress-panel
 * sends and edits) runs through its lane, one task at a time, so a panel created before a
 * reply is also shown before it. Different chats run in parallel.
 */
export class ChatLanes {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<unknown>>();

  /** Runs `task` after every task queued earlier for `chatId`; its result (or error) is returned. */
  run<T>(chatId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(chatId) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(chatId, tail);
    this.pending.add(result);
    void tail.then(() => {
      this.pending.delete(result);
      if (this.tails.get(chatId) === tail) this.tails.delete(chatId);
    });
    return result;
  }

  /** A task of `chatId` is queued or running. */
  busy(chatId: string): boolean {
    return this.tails.has(chatId);
  }

  /** Resolves when every task queued so far has settled, or after `timeoutMs`; true when all settled. */
  async idle(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const settled = (async () => {
      while (this.pending.size) await Promise.allSettled([...this.pending]);
      return true as const;
    })();
    try {
      return await Promise.race([settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
