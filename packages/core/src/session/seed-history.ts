import type { SeedMessage } from "@starling/protocol";
import type { SessionStore } from "../store/session-store.js";

/**
 * Stores `initialize.seedHistory` as the session's first messages, in one batch (commit point
 * `seed_history`), if the journal has never held a message or an input. A journal that has (this seed
 * stored by a worker killed before it answered `initialize`, or a session that simply has a past)
 * ignores it: the host may send the same seed until it sees an answer. Returns how many were stored.
 */
export async function applySeedHistory(store: SessionStore, seed: readonly SeedMessage[] | undefined): Promise<number> {
  const fresh = () => store.meta.nextMessageIndex === 0 && store.queue.length === 0 && store.lastTurn === null;
  if (!seed?.length || !fresh()) return 0;
  return store.commit("seed_history", (tx) => {
    if (!fresh()) return 0;
    for (const m of seed) {
      tx.appendMessage({ role: m.role, ...(m.userName !== undefined ? { userName: m.userName } : {}), time: m.time, content: m.content });
    }
    return seed.length;
  });
}
