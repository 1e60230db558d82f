// A host stopped (SIGTERM) or killed (SIGKILL) while Telegram's send windows hold its sends back
// (pace_sends, on by default and set here, since the e2e harness turns it off: 3 messages per 3 s in a
// private chat), ARCHITECTURE §8 "Send budget":
// a progress panel's final edit that waits for room does not hold the stop, and the next start shows
// the final state once; a reply split into several messages that is cut between parts sends only the
// parts that did not go out after the restart, unlabelled when its record proves the earlier ones went.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat, user } from "../fakes/telegram-api.js";
import { forumChat } from "../fakes/telegram/groups.js";
import { DUPLICATE_LABEL, lastUserText, panels, startE2E, type E2E } from "./fixture.js";

const chats = {
  panel: privateChat(1901, "Panel stop"),
  term: privateChat(1902, "Parts stop"),
  kill: privateChat(1903, "Parts kill"),
  crash: privateChat(1904, "Parts crash point"),
  unknown: privateChat(1905, "Part unknown"),
  pause: privateChat(1907, "Panel 429 stop"),
};
const forum = forumChat(-1001906, "Forum");
const TOPIC = 55;
/** Lines of the tag's reply: 37 fill a Telegram message (4096 characters at most); three messages, or seven. */
const linesOf = (tag: string) => (tag === "term" ? 7 * 37 : tag === "pause" ? 1 : 3 * 37);
const line = (tag: string, i: number) => `${tag} line ${String(i).padStart(3, "0")} ${"x".repeat(90)}`;

function respond(req: RecordedRequest): ScriptedReply {
  const tag = /\[([\w-]+)\]/.exec(lastUserText(req))?.[1] ?? "none";
  // Not instant: the panel is sent (and its id stored) before the turn ends.
  return { delayMs: tag === "topic" ? 2000 : 300, text: Array.from({ length: linesOf(tag) }, (_, i) => line(tag, i)).join("\n") };
}

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: Object.values(chats).map((c) => c.id), allowedChatIds: [forum.id], channel: { pace_sends: true } } });
});

afterEach(async () => {
  if (e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop("SIGKILL");
});

afterAll(async () => {
  await e2e?.close();
});

const done = (text: string | undefined) => (text ?? "").includes("✅ Done");
/** Waits for the running host's debug log record `msg` about the chat. */
const logged = (msg: string, chatId: number, what: string, extra: (r: Record<string, unknown>) => boolean = () => true) =>
  e2e.untilLogged((r) => r["msg"] === msg && r["chatId"] === String(chatId) && extra(r), what);
/**
 * The running host finished the chat's reply: every part it sends went out before (a second copy would have),
 * and the outbox item is deleted, so nothing sends it again.
 */
const replyDone = (chatId: number) => logged("outbox item done (sent, or dropped as unsendable)", chatId, "the reply's outbox item done");
/** The running host finished the chat's progress panel: no edit of it follows. */
const panelDone = (chatId: number) => logged("progress panel finished: no more edits", chatId, "the panel finished");
/** The running host recorded `sent` parts of the chat's reply (or, not `recorded`, sent them) and waits for room for the next. */
const betweenParts = (chatId: number, sent: number, recorded: boolean) =>
  logged("a reply's part went out; the next one waits for room", chatId, `part ${sent} out, the next waiting`, (r) => r["sentParts"] === sent && r["recorded"] === recorded);
/** The reply's messages in the chat (the panel left out). */
const parts = (chatId: number) => e2e.replies(chatId).map((m) => m.text ?? "");

/** Every line of the tag's reply arrived exactly once, in order, and no message is labelled a possible duplicate. */
function expectWholeOnce(chatId: number, tag: string): void {
  const texts = parts(chatId);
  expect(texts.filter((t) => t.includes(DUPLICATE_LABEL)), "labelled messages").toEqual([]);
  const lines = texts.join("\n").split("\n").filter((l) => l.startsWith(`${tag} line`));
  expect(lines).toEqual(Array.from({ length: linesOf(tag) }, (_, i) => line(tag, i)));
}

describe("stopping while sends wait for Telegram's windows", { timeout: 180_000 }, () => {
  it("SIGTERM while the panel's final edit waits for the chat's window: the host exits without that edit, and the restart shows the final state once", async () => {
    const chat = chats.panel;
    e2e.start();
    e2e.send(chat, "answer at length [panel]");
    // Panel, then three parts: the third waits for the window, and the panel's final edit after it.
    await e2e.until(() => parts(chat.id).length >= 3 && parts(chat.id), "the reply's three parts");
    const panel = panels(e2e.telegram, chat.id)[0];
    expect(panel, "the turn's panel").toBeDefined();
    expect(done(panel!.text), "the panel's final edit still waits for the window when the stop comes").toBe(false);
    const exit = await e2e.stop();
    expect(exit.code).toBe(0);
    // A stop that waits for the window (up to its 5 s budget) makes the edit before it exits.
    const finalEdits = () => e2e.telegram.edits(chat.id).filter((e) => done(e.text));
    expect(finalEdits().length, "final panel edits made before the exit").toBe(0);

    e2e.start();
    await e2e.until(() => done(panels(e2e.telegram, chat.id)[0]?.text), "the panel to show the final state after the restart", 20_000);
    await panelDone(chat.id);
    expect(finalEdits().length, "final panel edits after the restart").toBe(1);
    expect(panels(e2e.telegram, chat.id).length, "one panel").toBe(1);
    expectWholeOnce(chat.id, "panel");
    expect((await e2e.stop()).code).toBe(0);
  });

  it("SIGTERM while the panel's final edit waits out a 429's retry_after: the host exits without retrying it, and the restart shows the final state once", async () => {
    const chat = chats.pause;
    // The panel's first final edit is refused with retry_after 4 s, within the stop's 5 s budget.
    const finalAttempts: string[] = [];
    e2e.telegram.setNemesis(({ method, params }) => {
      if (method !== "editMessageText" || Number(params["chat_id"]) !== chat.id || !done(String(params["text"] ?? ""))) return undefined;
      finalAttempts.push(finalAttempts.length ? "retried" : "refused");
      return finalAttempts.length === 1 ? { kind: "fault", fault: { status: 429, retryAfter: 4 } } : undefined;
    });
    try {
      e2e.start();
      e2e.send(chat, "answer briefly [pause]");
      await e2e.until(() => finalAttempts.length > 0, "the panel's final edit refused with a 429", 30_000);
      const exit = await e2e.stop();
      expect(exit.code).toBe(0);
      // A stop that waits out the retry_after retries the edit (and makes it) before it exits.
      expect(finalAttempts, "final panel edits tried before the exit").toEqual(["refused"]);
      expect(e2e.telegram.edits(chat.id).filter((e) => done(e.text)).length, "final panel edits made before the exit").toBe(0);

      e2e.start();
      await e2e.until(() => done(panels(e2e.telegram, chat.id)[0]?.text), "the panel to show the final state after the restart", 20_000);
      await panelDone(chat.id);
      expect(finalAttempts, "final panel edits tried in all").toEqual(["refused", "retried"]);
      expect(panels(e2e.telegram, chat.id).length, "one panel").toBe(1);
      expectWholeOnce(chat.id, "pause");
      expect((await e2e.stop()).code).toBe(0);
    } finally {
      e2e.telegram.setNemesis(undefined);
    }
  });

  it("SIGTERM between the parts of a long reply: the host exits without the parts that wait for the window, and the restart sends only those, unlabelled", async () => {
    const chat = chats.term;
    e2e.start();
    e2e.send(chat, "answer at great length [term]");
    // Panel and two parts fill the window: the third part waits (a stop that waits sends the 3rd to 5th, the rest later).
    await e2e.until(() => parts(chat.id).length >= 2, "the reply's first two parts");
    expect((await e2e.stop()).code).toBe(0);
    expect(parts(chat.id).length, "parts sent before the exit").toBe(2);

    e2e.start();
    await e2e.until(() => parts(chat.id).length >= 7, "the reply's other parts after the restart", 40_000);
    await replyDone(chat.id);
    expectWholeOnce(chat.id, "term");
    expect((await e2e.stop()).code).toBe(0);
  });

  it("SIGKILL between the parts of a long reply: the restart sends only the parts that had not gone out, unlabelled", async () => {
    const chat = chats.kill;
    e2e.start();
    e2e.send(chat, "answer at length [kill]");
    await e2e.until(() => parts(chat.id).length >= 2, "the reply's first two parts");
    // The host records the second part once Telegram's answer is in (a kill before that leaves its
    // outcome unknown: labelled, rightly); the third part waits for the window (~3 s after the panel).
    await betweenParts(chat.id, 2, true);
    await e2e.stop("SIGKILL");
    expect(parts(chat.id).length, "parts sent before the kill").toBe(2);

    e2e.start();
    await e2e.until(() => parts(chat.id).length >= 3, "the reply's last part after the restart", 40_000);
    await replyDone(chat.id);
    expectWholeOnce(chat.id, "kill");
    expect((await e2e.stop()).code).toBe(0);
  });

  it("killed right after a part is recorded (STARLING_CRASH_AT=outbox_part): the restart sends only the other parts, unlabelled", async () => {
    const chat = chats.crash;
    const host = e2e.start({ STARLING_CRASH_AT: "outbox_part" });
    e2e.send(chat, "answer at length [crash]");
    await e2e.killedAt(host, "outbox_part");
    expect(parts(chat.id).length, "parts sent before the kill").toBe(1);

    e2e.start();
    await e2e.until(() => parts(chat.id).length >= 3, "the reply's other parts after the restart", 40_000);
    await replyDone(chat.id);
    expectWholeOnce(chat.id, "crash");
    expect((await e2e.stop()).code).toBe(0);
  });

  it("killed after the second part's attempt is recorded (outbox_attempt:2): the restart sends the second part labelled, the third unlabelled", async () => {
    const chat = chats.unknown;
    const host = e2e.start({ STARLING_CRASH_AT: "outbox_attempt:2" });
    e2e.send(chat, "answer at length [unknown]");
    await e2e.killedAt(host, "outbox_attempt");
    expect(parts(chat.id).length, "parts sent before the kill").toBe(1);

    e2e.start();
    await e2e.until(() => parts(chat.id).length >= 3, "the reply's other parts after the restart", 40_000);
    await replyDone(chat.id);
    const texts = parts(chat.id);
    expect(texts.map((t) => t.includes(DUPLICATE_LABEL)), "which parts are labelled").toEqual([false, true, false]);
    const lines = texts.join("\n").split("\n").map((l) => l.replace(/^♻️ \(possible duplicate\) /, "")).filter((l) => l.startsWith("unknown line"));
    expect(lines).toEqual(Array.from({ length: linesOf("unknown") }, (_, i) => line("unknown", i)));
    expect((await e2e.stop()).code).toBe(0);
  });

  it("killed while a topic's long answer goes to General after the topic refused its second part: the restart labels the part General may have twice", async () => {
    // The topic is deleted as the reply's second part is sent into it (its first part went in).
    e2e.telegram.setNemesis(({ method, params }) => {
      const text = String(params["text"] ?? "");
      if (method === "sendMessage" && params["message_thread_id"] === TOPIC && text.includes("topic line") && !text.includes("topic line 000")) {
        e2e.telegram.deleteTopic(forum, TOPIC);
      }
      return undefined;
    });
    const general = () => e2e.telegram.messages(forum.id).filter((m) => m.params.message_thread_id === undefined && (m.text ?? "").includes("topic line"));
    try {
      e2e.start();
      e2e.telegram.sendText(forum, "@starling_test_bot answer at length [topic]", { from: user(2192, "Ann"), threadId: TOPIC });
      await e2e.until(() => general().length >= 1, "the answer's first part in General", 30_000);
      await betweenParts(forum.id, 1, false); // the second part waits for the chat's window
      await e2e.stop("SIGKILL");
      expect(general().length, "General parts before the kill").toBe(1);

      e2e.start();
      await e2e.until(() => general().length >= 4, "the answer in General after the restart", 40_000);
      await replyDone(forum.id);
      const texts = general().map((m) => m.text ?? "");
      // The first General part went out twice: the copy after the restart carries the label.
      expect(texts.map((t) => t.includes(DUPLICATE_LABEL)), "which General messages are labelled").toEqual([false, true, false, false]);
      const lines = texts.slice(1).join("\n").split("\n").filter((l) => l.startsWith("topic line"));
      expect(lines).toEqual(Array.from({ length: linesOf("topic") }, (_, i) => line("topic", i)));
      expect((await e2e.stop()).code).toBe(0);
    } finally {
      e2e.telegram.setNemesis(undefined);
    }
  });
});
