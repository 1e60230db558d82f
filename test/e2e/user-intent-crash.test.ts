// kill -9 of the host at the commit points of a user's /cancel and /continue (STARLING_CRASH_AT
// user_cancel, user_continue; ARCHITECTURE §5.4): the host dies after storing what the user asked and
// before carrying it out or answering. After a restart the cancelled turn stays stopped until /continue,
// and a continue is carried out once: the message is answered exactly once.
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, type E2E, useE2E } from "./fixture.js";

const chats = { cancel: privateChat(811, "Cancel crash"), continue: privateChat(812, "Continue crash") };

/** A message's first model call never answers (the turn is running when /cancel comes, until it is cancelled or its host dies); a resumed one answers at once. */
const asked = new Map<string, number>(); // model calls by the message's [tag]
function respond(req: RecordedRequest): ScriptedReply {
  const tag = /\[([\w-]+)\]/.exec(lastUserText(req))?.[1] ?? "none";
  const n = (asked.get(tag) ?? 0) + 1;
  asked.set(tag, n);
  return n === 1 ? { hang: true } : { text: `Answer to ${tag}.` };
}

let e2e: E2E;

useE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } }, (value) => (e2e = value));

/**
 * Starts a host that kills itself at `point`, sends a slow message and waits until the model has it and
 * the host knows the turn runs (its typing action follows the turn's start; a /cancel before that is
 * sent to the worker with no turn to mark).
 */
async function slowTurn(point: string, chat: (typeof chats)[keyof typeof chats], tag: string) {
  const host = e2e.start({ STARLING_CRASH_AT: point });
  e2e.send(chat, `a slow one [${tag}]`);
  await e2e.until(() => asked.get(tag) === 1, "the model asked for the slow message");
  await e2e.untilTyping(chat.id);
  return host;
}

const copiesOf = (chatId: number, text: string) => e2e.replies(chatId).filter((m) => (m.text ?? "").includes(text));

describe("a user's /cancel and /continue across a host crash at their commit points", () => {
  it("host killed at user_cancel: the turn stays stopped after the restart and /continue answers it once", async () => {
    const chat = chats.cancel;
    const host = await slowTurn("user_cancel", chat, "cancel");
    e2e.send(chat, "/cancel");
    await e2e.killedAt(host, "user_cancel");

    e2e.start();
    // The re-delivered /cancel is answered; whatever it finds, the turn must not run again by itself.
    await e2e.until(() => e2e.replies(chat.id).find((m) => /^(Cancelled|Nothing to cancel)/.test(m.text ?? "")), "the /cancel answered after the restart");
    const recovered = await e2e.until(() => e2e.logRecords().find((r) => r.msg === "turn recovered after a worker stop"), "the interrupted turn recovered");
    // The host's decision on the recovered turn, logged once it is stored: not continued (the user cancelled it).
    expect(recovered.decision, "the cancelled turn is not continued without /continue").toEqual({ kind: "none" });
    expect(asked.get("cancel")).toBe(1);
    // And nothing else resumed it meanwhile: the /continue finds it stopped (not running, not finished).
    expect(await e2e.ask(chat, "/continue")).toBe("Continuing the last turn…");
    await e2e.waitText(chat.id, /Answer to cancel\./);
    // A second copy of the answer would be sent before the reply to a later command.
    expect(await e2e.ask(chat, "/status")).toMatch(/Conversation:/);
    expect(copiesOf(chat.id, "Answer to cancel.")).toHaveLength(1);
    expect(asked.get("cancel")).toBe(2);
    expect(await e2e.stop(), e2e.logTail(30)).toEqual({ code: 0, signal: null });
  }, 180_000);

  it("host killed at user_continue: the restarted host carries the continue out once", async () => {
    const chat = chats.continue;
    const host = await slowTurn("user_continue", chat, "continue");
    e2e.send(chat, "/cancel");
    await e2e.waitText(chat.id, /^Cancelled the running turn/);
    // The cancel was accepted; until the turn has ended, /continue hears "a turn is already running" (and
    // stores nothing): sent again, as a user would, until the host dies storing it.
    for (let tries = 0; host.child.exitCode === null && host.child.signalCode === null; tries++) {
      expect(tries, "a /continue stored within 10 tries").toBeLessThan(10);
      const before = e2e.replies(chat.id).length;
      e2e.send(chat, "/continue");
      await e2e.until(() => host.child.signalCode !== null || e2e.replies(chat.id).length > before, "the host dying or answering the /continue");
    }
    await e2e.killedAt(host, "user_continue");
    const beforeRestart = e2e.replies(chat.id).length;

    e2e.start();
    await e2e.waitText(chat.id, /Answer to continue\./);
    // The re-delivered /continue is answered too, without resuming the turn a second time.
    const afterRestart = () => e2e.replies(chat.id).slice(beforeRestart);
    await e2e.until(() => afterRestart().find((m) => /^(Continuing|Nothing to continue)/.test(m.text ?? "")), "the /continue answered after the restart");
    // A second copy of the answer would be sent before the reply to a later command.
    expect(await e2e.ask(chat, "/status")).toMatch(/Conversation:/);
    expect(copiesOf(chat.id, "Answer to continue.")).toHaveLength(1);
    expect(asked.get("continue"), "the turn resumed once").toBe(2);
    expect(await e2e.stop(), e2e.logTail(30)).toEqual({ code: 0, signal: null });
  }, 180_000);
});
