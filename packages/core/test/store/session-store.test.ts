// The session store's mirror never runs ahead of its LevelDB: a failed batch is undone in memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore, type WriteError } from "../../src/store/session-store.js";

// The 1st and 2nd `turn_end` writes of this process fail with EIO (read once, at the first commit).
process.env.STARLING_FAIL_AT = "turn_end:1:2";

let dir: string;
let store: SessionStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-session-store-"));
  store = await SessionStore.open(join(dir, "db"), { attempts: 3, initialDelayMs: 1 });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const userMessage = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] });
const receivedAt = "2026-01-01T00:00:00.000Z";
const queued = (messageId: string, text: string) => ({ messageId, kind: "user" as const, message: userMessage(text), receivedAt });

describe("SessionStore", () => {
  it("a failed batch leaves messages, queue, counters and intents as stored", async () => {
    await store.commit("enqueue", (tx) => tx.enqueue(queued("m1", "one")));
    const metaBefore = { ...store.meta };
    const failing = store.commit("enqueue", (tx) => {
      tx.enqueue(queued("m2", "two"));
      tx.appendMessage({ role: "user", content: [{ type: "text", text: "x" }], bad: 1n } as never);
      tx.takeQueue();
    });
    await expect(failing).rejects.toThrow();
    expect(store.queue.map((q) => q.messageId)).toEqual(["m1"]);
    expect(store.messages).toEqual([]);
    expect(store.meta).toEqual(metaBefore);
    expect(store.knows("m2")).toBe(false);
    // The next commit works and numbers continue where the database is.
    await store.commit("enqueue", (tx) => tx.enqueue(queued("m3", "three")));
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect(store.queue.map((q) => [q.messageId, q.queueId])).toEqual([
      ["m1", 1],
      ["m3", 2],
    ]);
  });

  it("a write that fails (EIO) is tried again and lands; each failure is reported", async () => {
    const failures: WriteError[] = [];
    store.onWriteError((f) => failures.push(f));
    const events: number[] = [];
    store.onEvent((e) => events.push(e.seq));
    await store.commit("turn_end", (tx) => {
      tx.appendMessage({ ...userMessage("answer"), time: receivedAt });
      tx.emit({ type: "turn_completed", turnId: 1, message: { role: "assistant", content: [] } });
    });
    expect(failures.map((f) => [f.point, f.attempt, f.willRetry, String(f.err)])).toEqual([
      ["turn_end", 1, true, expect.stringContaining("EIO")],
      ["turn_end", 2, true, expect.stringContaining("EIO")],
    ]);
    // Built once per attempt on the restored mirror: one message, one event, numbered as if nothing failed.
    expect(store.messages.map((m) => m.index)).toEqual([0]);
    expect(events).toEqual([1]);
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect(store.messages.length).toBe(1);
    expect(store.meta.nextSeq).toBe(2);
  });

  it("a write that keeps failing is given up after the last attempt and reported as such", async () => {
    const failures: WriteError[] = [];
    store.onWriteError((f) => failures.push(f));
    const failing = store.commit("enqueue", (tx) => tx.appendMessage({ ...userMessage("x"), bad: 1n } as never));
    await expect(failing).rejects.toThrow();
    expect(failures.map((f) => [f.attempt, f.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(store.messages).toEqual([]);
  });

  it("a build that throws is not retried and leaves the mirror as it was", async () => {
    const failures: WriteError[] = [];
    store.onWriteError((f) => failures.push(f));
    const failing = store.commit("enqueue", (tx) => {
      tx.enqueue(queued("m1", "one"));
      throw new Error("refused");
    });
    await expect(failing).rejects.toThrow("refused");
    expect(failures).toEqual([]);
    expect(store.queue).toEqual([]);
    expect(store.meta.nextQueueId).toBe(1);
  });

  it("a learned context window is kept per model across a reopen, undone with a failed batch, and dropped for good", async () => {
    await store.commit("compaction", (tx) => tx.setLearnedWindow("openai url a", 12_000));
    const failing = store.commit("compaction", (tx) => {
      tx.setLearnedWindow("openai url a", 8_000);
      tx.setLearnedWindow("openai url b", 64_000);
      tx.appendMessage({ ...userMessage("x"), bad: 1n } as never);
    });
    await expect(failing).rejects.toThrow();
    expect([...store.learnedWindows]).toEqual([["openai url a", 12_000]]);
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect([...store.learnedWindows]).toEqual([["openai url a", 12_000]]);
    await store.commit("model_answer", (tx) => tx.dropLearnedWindow("openai url a"));
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect(store.learnedWindows.size).toBe(0);
  });

  it("a refused URL is kept across a reopen and undone with a failed batch", async () => {
    const odd = "https://example.org/\u{1F600}.png";
    await store.commit("turn_end", (tx) => {
      tx.setRefusedUrl("https://example.org/book.pdf", "Too much media: 150 document pages + 0 images > 100");
      tx.setRefusedUrl(odd, "image exceeds 5 MB maximum");
    });
    const failing = store.commit("turn_end", (tx) => {
      tx.setRefusedUrl("https://example.org/other.png", "image exceeds 5 MB maximum");
      tx.appendMessage({ ...userMessage("x"), bad: 1n } as never);
    });
    await expect(failing).rejects.toThrow();
    const expected = [
      ["https://example.org/book.pdf", "Too much media: 150 document pages + 0 images > 100"],
      [odd, "image exceeds 5 MB maximum"],
    ];
    expect([...store.refusedUrls].sort()).toEqual(expected);
    await store.close();
    store = await SessionStore.open(join(dir, "db"));
    expect([...store.refusedUrls].sort()).toEqual(expected);
  });

  it("ephemeral events write no batch of their own, but their seqs are stored at close and never handed out again", async () => {
    const sent: number[] = [];
    store.onEvent((e) => sent.push(e.seq));
    await store.commit("turn_start", (tx) => tx.emit({ type: "turn_started", turnId: 1, messageIds: ["m1"] }));
    await store.emitEphemeral({ type: "progress", turnId: 1, phase: "calling_model", step: 1 });
    await store.emitEphemeral({ type: "progress", turnId: 1, phase: "running_tool", toolName: "shell" });
    expect(sent).toEqual([1, 2, 3]);
    const closing = store.close();
    // Issued after close() began: dropped, not announced with a seq the next start could reuse.
    expect(await store.emitEphemeral({ type: "progress", turnId: 1, phase: "calling_model", step: 2 })).toBeNull();
    await expect(store.commit("turn_cancelled", () => undefined)).rejects.toThrow(/closed/);
    await closing;
    expect(sent).toEqual([1, 2, 3]);

    store = await SessionStore.open(join(dir, "db"));
    expect(store.meta.nextSeq).toBe(4);
    store.onEvent((e) => sent.push(e.seq));
    await store.commit("turn_cancelled", (tx) => tx.emit({ type: "turn_cancelled", turnId: 1 }));
    expect(sent).toEqual([1, 2, 3, 4]);
  });
});
