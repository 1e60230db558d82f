import { readFileSync } from "node:fs";
import { uptime } from "node:os";
import { HostKeys, type HostStore } from "./host-store.js";
import type { OutboundItem } from "./records.js";

/**
 * This machine's boot: the kernel's random boot id on Linux; elsewhere the boot time from the uptime
 * (to 10 s). A value that changed means the machine restarted, which a power failure implies.
 */
export function currentBootId(): string {
  try {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    if (id) return id;
  } catch {
    // not Linux (or no /proc): the boot time instead
  }
  return `uptime:${Math.round((Date.now() - uptime() * 1000) / 10_000)}`;
}

/**
 * The host's first commit at start (`boot`, ARCHITECTURE §5 "Commit points without their own fsync").
 * `outbox_attempt` and `outbox_sent` are written without fsync: a process crash never loses them, but a
 * power failure may. When the stored boot id differs from this boot's, every item still in the outbox
 * may have been sent without its attempt surviving, so each is marked a possible duplicate (its next
 * send carries the label). A missing stored id (a new store, or one from a version that fsync'd every
 * attempt) marks nothing. Returns how many items were marked.
 */
export async function noteBoot(store: HostStore, bootId = currentBootId()): Promise<number> {
  // Written at every start (one fsync), so the commit point is reached at every start.
  return store.commit("boot", (tx) => {
    const stored = store.get<string>(HostKeys.boot());
    let marked = 0;
    if (stored !== undefined && stored !== bootId) {
      for (const item of store.list<OutboundItem>("outbound:")) {
        if (item.possibleDuplicate) continue;
        tx.put(HostKeys.outbound(item.seq), { ...item, possibleDuplicate: true } satisfies OutboundItem);
        marked++;
      }
    }
    tx.put(HostKeys.boot(), bootId);
    return marked;
  });
}
