// A chat's later updates wait behind its slow command (ARCHITECTURE §5.1, §8 "Commands"): a user who sends "/new"
// and then "hello" expects "hello" to open the new session, however long the old worker takes to answer /new. While a
// chat's command runs, its later updates are stored durably (commit point `update_held`) and admitted after it, in
// order; other chats are not held. The real host, supervisor and workers; fakes only at the Bot API and the model.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { privateChat, type FakeChat } from "../fakes/telegram-api.js";
import { deferred, echoHolding } from "./echo-slot.js";
import { DUPLICATE_LABEL, isResend, lastUserText, processAlive, requestText, startE2E, type E2E } from "./fixture.js";

/**
 * The stuck worker's answer deadline: the chat's next message comes while the command waits, and another chat's
 * answer comes long before it (under a second; seconds on a loaded machine).
 */
const ANSWER_MS = "8000";
const NEW_REPLY = /^Started a fresh session/;

/** "slowly" holds the only turn slot until the test lets it go (`slot.resolve()`). */
let slot = deferred();
const a = privateChat(2701, "NewA");
const b = privateChat(2702, "OtherB");
const busy = privateChat(2703, "Busy");
const edits = privateChat(2704, "EditE");
const crashChats = { update_held: privateChat(2705, "CrashHeld"), admit: privateChat(2706, "CrashAdmit") } as const;
let e2e: E2E;
const stopped: number[] = [];

beforeAll(async () => {
  const admins = [a, b, busy, edits, ...Object.values(crashChats)].map((c) => c.id);
  e2e = await startE2E({ responder: echoHolding(() => slot.promise), start: false, config: { adminUserIds: admins, workers: { warm_spares: 0, max_concurrent_turns: 1 } } });
});

afterEach(async () => {
  slot.resolve();
  for (const pid of stopped.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
});

afterAll(async () => {
  await e2e?.close();
});

/**
 * The chat's replies from the `from`-th on, a labelled re-send (a host killed while sending, ARCHITECTURE §5.5) counted
 * once: its label dropped, and left out after a copy already sent.
 */
function texts(chat: FakeChat, from = 0): string[] {
  const out: string[] = [];
  for (const m of e2e.replies(chat.id).slice(from)) {
    const text = (m.text ?? "").replace(`♻️ ${DUPLICATE_LABEL} `, "");
    if (!isResend(m) || !out.includes(text)) out.push(text);
  }
  return out;
}
/** Model requests whose newest user message ends with the line `text` (as the echo answers it). */
const asked = (text: string) => e2e.model.requests.filter((r) => lastUserText(r).split("\n").filter(Boolean).at(-1) === text);

/** Answers `text` in `chat` and stops (SIGSTOP) the worker that answered it: the chat's next command waits `ANSWER_MS` on it. */
async function stuckWorkerOf(chat: FakeChat, text: string): Promise<void> {
  const before = new Set(e2e.host!.workerPids());
  expect(await e2e.ask(chat, text, { timeoutMs: 30_000 })).toBe(`echo: ${text}`);
  const pid = await e2e.until(() => e2e.host!.workerPids().find((p) => !before.has(p)), `${chat.id}'s worker`);
  process.kill(pid, "SIGSTOP");
  stopped.push(pid);
}

/** `hello` was answered once, after the /new reply, by a session that never saw `before` (`then`: the chat's replies after those). */
function answeredByNewSession(chat: FakeChat, from: number, before: string, hello: string, then: string[] = []): void {
  expect(texts(chat, from)).toEqual([expect.stringMatching(NEW_REPLY), `echo: ${hello}`, ...then]);
  expect(asked(hello).length).toBeGreaterThan(0);
  for (const request of asked(hello)) expect(requestText(request), "the model request for the message after /new").not.toContain(before);
}

describe("a chat's updates wait behind its slow command", { timeout: 180_000 }, () => {
  it("a message right behind a slow /new opens the new session; another chat is answered meanwhile", async () => {
    await e2e.hostWith({ STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
    expect(await e2e.ask(b, "B before", { timeoutMs: 30_000 })).toBe("echo: B before"); // B's worker is up: B's next answer takes well under a second
    await stuckWorkerOf(a, "A before /new");
    const from = e2e.replies(a.id).length;
    // Sent together: the poller gets A's "hello" and B's message in one getUpdates batch after /new, a run of plain
    // private messages it would admit in one batch (handleBatch) but for the busy lane of A's.
    e2e.send(a, "/new");
    e2e.send(a, "hello after /new");
    e2e.send(b, "B while A's /new waits");
    await e2e.waitText(b.id, /^echo: B while A's \/new waits$/, 60_000);
    expect(texts(a, from), "A's /new still waits for its stuck worker when B is answered").toEqual([]);
    await e2e.waitText(a.id, /^echo: hello after \/new$/, 60_000);
    answeredByNewSession(a, from, "A before /new", "hello after /new");
  });

  it("an edit of a message held behind a command: one answer, to the edited text", async () => {
    await e2e.hostWith({ STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
    await stuckWorkerOf(edits, "E before");
    slot = deferred();
    e2e.send(busy, "answer slowly [hold the slot]");
    await e2e.untilTyping(busy.id);
    const from = e2e.replies(edits.id).length;
    e2e.send(edits, "/status");
    const sent = e2e.send(edits, "what is 2+2");
    await e2e.until(() => e2e.telegram.confirmedOffset() > sent, "the message to be stored");
    const edit = e2e.telegram.editText(edits, e2e.telegram.messageIdOf(sent), "what is 2+3");
    await e2e.until(() => e2e.telegram.confirmedOffset() > edit, "the edit to be stored");
    expect(texts(edits, from), "the /status still waits for its stuck worker").toEqual([]);
    const editHandled = () => e2e.logRecords().some((r) => r["msg"] === "edited message" && r["chatId"] === String(edits.id));
    expect(editHandled(), "the edit waits behind /status with its message").toBe(false);
    await e2e.waitText(edits.id, /^Session: /m, 60_000);
    await e2e.until(editHandled, "the edit handled");
    slot.resolve();
    await e2e.waitText(edits.id, /^echo: what is 2\+3$/, 60_000);
    expect(await e2e.ask(edits, "[after the edit]", { timeoutMs: 30_000 })).toBe("echo: [after the edit]");
    expect(texts(edits, from)).toEqual([expect.stringMatching(/^Session: /m), "echo: what is 2+3", "echo: [after the edit]"]);
    expect(e2e.model.requests.some((r) => requestText(r).includes("2+2"))).toBe(false);
  });

  // update_held: killed right after the message was stored behind /new; admit: right after it was admitted (the 2nd admission of that host).
  for (const [point, crashAt] of [
    ["update_held", "update_held"],
    ["admit", "admit:2"],
  ] as const) {
    it(`host killed at ${crashAt} with a message held behind /new: answered once, after /new, by the new session`, async () => {
      const chat = crashChats[point];
      if (e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop();
      const host = e2e.start({ STARLING_CRASH_AT: crashAt, STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
      const before = `${point} before /new`;
      const hello = `${point} hello after /new`;
      await stuckWorkerOf(chat, before);
      const from = e2e.replies(chat.id).length;
      e2e.send(chat, "/new");
      e2e.send(chat, hello);
      await e2e.killedAt(host, crashAt);
      for (const pid of stopped.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL"); // its session's database is free for the next host
      e2e.start({ STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
      await e2e.waitText(chat.id, new RegExp(`^echo: ${hello.replace("/", "\\/")}$`), 60_000);
      // A second answer to either would be queued before this one (the chat's lane runs in order, its outbox sends in order).
      expect(await e2e.ask(chat, `${point} [after]`, { timeoutMs: 30_000 })).toBe(`echo: ${point} [after]`);
      answeredByNewSession(chat, from, before, hello, [`echo: ${point} [after]`]);
      expect(await e2e.stop()).toEqual({ code: 0, signal: null });
    });
  }
});
