import { HostKeys, type HostStore, type HostTransaction } from "./host-store.js";

/** How a Telegram update is admitted once: by its id, or by the pending record it waited in (channels/telegram/pending-commands.ts). */
export interface UpdateRef {
  channelId: string;
  updateId: number;
  /**
   * The update waited behind its chat's command in this pending record, stored with its update id: the
   * record, not the id (committed then, and passed by later updates since), tells whether it is admitted.
   */
  pendingKey?: string;
}

/** The update was not admitted before: its pending record is still stored, or its id is past the channel's last. */
export function updateIsNew(store: HostStore, update: UpdateRef): boolean {
  if (update.pendingKey !== undefined) return store.get(update.pendingKey) !== undefined;
  return update.updateId > store.lastUpdateId(update.channelId);
}

/** Records the update as admitted in `tx`: its pending record deleted, else the channel's last update id moved up to it (never back). */
export function recordUpdate(store: HostStore, tx: HostTransaction, update: UpdateRef): void {
  if (update.pendingKey !== undefined) tx.del(update.pendingKey);
  else if (update.updateId > store.lastUpdateId(update.channelId)) tx.put(HostKeys.lastUpdate(update.channelId), update.updateId);
}
