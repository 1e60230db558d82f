import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import type { ConversationRecord, InboundItem } from "../state/records.js";

/**
 * Held messages (`held:<conversation>:<seq>`, ARCHITECTURE §8): admitted durably but not yet passed to
 * the session, because the conversation has no model yet or a message still has files to download.
 * They leave in seq order, so a message never overtakes an earlier one of its conversation.
 */
export function heldItems(store: HostStore, conversationId: string): InboundItem[] {
  return store.list<InboundItem>(`held:${conversationId}:`);
}

/** True while any message of the conversation is held: a new one is held behind it. */
export function hasHeld(store: HostStore, conversationId: string): boolean {
  return heldItems(store, conversationId).length > 0;
}

/**
 * Moves the conversation's leading held messages whose files are in (no `pendingFiles`) to the inbound
 * queue of its current foreground session, when it has a model; stops at the first one still
 * downloading. `changed` is the new value of one held item (its files came in): it is written once,
 * to the inbound queue when released, back to its held key otherwise. Returns how many moved.
 */
export function releaseReady(store: HostStore, tx: HostTransaction, conversation: ConversationRecord, changed?: InboundItem): number {
  let released = 0;
  let changedReleased = false;
  for (const stored of conversation.modelAlias ? heldItems(store, conversation.id) : []) {
    const item = changed?.seq === stored.seq ? changed : stored;
    if (item.pendingFiles?.length) break;
    tx.del(HostKeys.held(conversation.id, item.seq));
    tx.put(HostKeys.inbound(item.seq), { ...item, sessionId: conversation.foreground.sessionId } satisfies InboundItem);
    if (item === changed) changedReleased = true;
    released++;
  }
  if (changed && !changedReleased) tx.put(HostKeys.held(conversation.id, changed.seq), changed);
  return released;
}

/**
 * Stores `item`, found at `key`, held again (an edit replaced its files, which are downloaded anew), and
 * with it the later messages of its session still in the inbound queue, so none of them overtakes it.
 * The caller holds the item's edit claim, so its session hands none of them off meanwhile (edit-claims.ts).
 */
export function holdAgain(store: HostStore, tx: HostTransaction, key: string, item: InboundItem): void {
  const heldKey = HostKeys.held(item.conversationId, item.seq);
  if (key !== heldKey) {
    tx.del(key);
    for (const later of store.list<InboundItem>("inbound:")) {
      if (later.sessionId !== item.sessionId || later.seq <= item.seq) continue;
      tx.del(HostKeys.inbound(later.seq));
      tx.put(HostKeys.held(later.conversationId, later.seq), later);
    }
  }
  tx.put(heldKey, item);
}
