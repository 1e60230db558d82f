// Refusal notices are coalesced in the durable outbox (real LevelDB): one notice names every refused message.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queueRefusalNotice } from "../../src/conversations/refusal-notices.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import type { OutboundItem } from "../../src/state/records.js";

let dir: string;
let store: HostStore;
const target = { channelId: "tg", chatId: "7", conversationId: "tg-000001" };
const rate = { kind: "chat_rate" as const, limit: 3, retryAfterSeconds: 9 };
const text = (t: string) => ({ role: "user" as const, content: [{ type: "text" as const, text: t }] });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-refusals-"));
  store = await HostStore.open(join(dir, "db"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refuse(t: string, refusal: Parameters<typeof queueRefusalNotice>[3] = rate): Promise<void> {
  await store.commit("admit", (tx) => queueRefusalNotice(store, tx, target, refusal, text(t)));
}

describe("refusal notices", () => {
  it("adds refused messages to the chat's unsent notice; once it is being sent, a new notice starts", async () => {
    await refuse("one");
    await refuse("two");
    expect(store.outbound().map((o) => (o.payload as { text: string }).text)).toEqual([
      '⏳ Not passed on to the agent: "one", "two". This chat sent 3 messages in the last minute, the most it may send. Send them again in 9 s.',
    ]);
    const first = store.outbound()[0]!;
    await store.commit("outbox_attempt", (tx) => tx.put(HostKeys.outbound(first.seq), { ...first, attemptedAt: new Date().toISOString() } satisfies OutboundItem));
    await refuse("three");
    expect(store.outbound().map((o) => (o.payload as { text: string }).text)).toEqual([
      expect.stringContaining('"one", "two"'),
      expect.stringMatching(/^⏳ Not passed on to the agent: "three"\. .* Send it again in 9 s\.$/),
    ]);
    // A refusal for another reason gets its own notice.
    await refuse("four", { kind: "queue_full", queued: 5, limit: 5 });
    expect(store.outbound()).toHaveLength(3);
  });

  it("names at most 30 messages and counts the rest", async () => {
    for (let i = 0; i < 35; i++) await refuse(`m${i}`);
    const notices = store.outbound();
    expect(notices).toHaveLength(1);
    expect((notices[0]!.payload as { text: string }).text).toMatch(/"m29" and 5 more\. /);
  });
});
