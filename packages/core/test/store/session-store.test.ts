// The session store's mirror never runs ahead of its LevelDB: a failed batch is undone in memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore } from "../../src/store/session-store.js";

let dir: string;
let store: SessionStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-session-store-"));
  store = await SessionStore.open(join(dir, "db"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const userMessage = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] });

describe("SessionStore", () => {
  it("a failed batch leaves messages, queue, counters and intents as stored", async () => {
    await store.commit("enqueue", (tx) => tx.enqueue({ messageId: "m1", kind: "user", message: userMessage("one") }));
    const metaBefore = { ...store.meta };
    const failing = store.commit("enqueue", (tx) => {
      tx.enqueue({ messageId: "m2", kind: "user", message: userMessage("two") });
      tx.appendMessage({ role: "user", content: [{ type: "text", text: "x" }], bad: 1n } as never);
      tx.takeQueue();
    });
    await expect(failing).rejects.toThrow();
    expect(store.queue.map((q) => q.messageId)).toEqual(["m1"]);
    expect(store.messages).toEqual([]);
    expect(store.meta).toEqual(metaBefore);
    expect(store.knows("m2")).toBe(false);
    // The next commit works and numbers continue where the database is.
    await store.commit("enqueue", (tx) => tx.enqueue({ messageId: "m3", kind: "user", message: userMessage("three") }));
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect(store.queue.map((q) => [q.messageId, q.queueId])).toEqual([
      ["m1", 1],
      ["m3", 2],
    ]);
  });
});
