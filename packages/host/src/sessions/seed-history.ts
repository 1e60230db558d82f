import type pino from "pino";
import type { InitializeParams, SeedMessage } from "@starling/protocol";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import { errorText } from "./util.js";

/**
 * `init` with the session's seed history (stored by the Stellaclaw import, import/stellaclaw-seed.ts), if
 * it still has one: every worker started for the session gets it until one has answered `initialize`.
 * The worker stores it only into a journal that never held a message, so a second delivery changes nothing.
 */
export async function withSeedHistory(store: HostStore, sessionId: string, init: InitializeParams): Promise<InitializeParams> {
  // Kept on disk, not in the store's memory (host-store.ts ON_DISK_PREFIXES): read for this start only.
  const seed = await store.readFromDisk<SeedMessage[]>(HostKeys.seedHistory(sessionId));
  return seed ? { ...init, seedHistory: seed } : init;
}

/**
 * A worker answered the `initialize` that carried the seed: it is in the session's journal, the record goes
 * (commit point `seed_delivered`). A failed delete is only logged: the next worker gets the seed again and
 * ignores it.
 */
export async function seedDelivered(store: HostStore, sessionId: string, log: pino.Logger): Promise<void> {
  try {
    await store.commit("seed_delivered", (tx) => tx.del(HostKeys.seedHistory(sessionId)));
  } catch (err) {
    log.warn({ err: errorText(err) }, "the delivered seed history could not be forgotten; the next worker gets it again and ignores it");
  }
}

/** /new: the fresh session starts empty, so a seed no worker has stored yet goes with the archived one. */
export function forgetSeedHistory(store: HostStore, tx: HostTransaction, sessionId: string): void {
  if (store.has(HostKeys.seedHistory(sessionId))) tx.del(HostKeys.seedHistory(sessionId));
}
