// Durability across host restarts: updates sent while the host is down, kill -9 right after
// admission (crash point), SIGTERM mid-turn. One workdir, the host started and stopped in turn.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { DUPLICATE_LABEL, lastUserText, panels, sleep, startE2E, type E2E } from "./fixture.js";

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.includes("[slowterm]")) {
    // The first call hangs until the host's shutdown aborts it; the call after the restart answers.
    const calls = e2e.model.requests.filter((r) => lastUserText(r).includes("[slowterm]")).length;
    return calls === 1 ? { hang: true } : { text: "Answer after the restart." };
  }
  const tag = /\[(\w+)\]/.exec(ask)?.[1] ?? "none";
  return { text: `Answer to ${tag}.` };
}

const chats = {
  down: privateChat(401, "Down"),
  admit: privateChat(402, "Admit"),
  term: privateChat(403, "Term"),
  left: privateChat(404, "Left"),
};

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});

afterAll(async () => {
  await e2e?.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Replies in a chat that carry `text` (a possible-duplicate re-send included). */
const answers = (chatId: number, text: string) => e2e.replies(chatId).filter((m) => (m.text ?? "").includes(text));

describe("restart durability", { timeout: 60_000 }, () => {
  it("answers an update that was sent while the host was down", async () => {
    e2e.send(chats.down, "are you there? [down]");
    e2e.start();
    await e2e.waitText(chats.down.id, /^Answer to down\.$/, 20_000);
  });

  it("kill -9 right after admission (STARLING_CRASH_AT=admit): answered exactly once after the restart", async () => {
    expect((await e2e.stop()).code).toBe(0);
    const host = e2e.start({ STARLING_CRASH_AT: "admit" });
    e2e.send(chats.admit, "crash while admitting me [admit]");
    const exit = await Promise.race([host.exited, sleep(15_000).then(() => null)]);
    expect(exit, "the host killed itself at the crash point").toEqual({ code: null, signal: "SIGKILL" });
    expect(answers(chats.admit.id, "Answer to admit.")).toHaveLength(0);

    e2e.start();
    await e2e.waitText(chats.admit.id, /Answer to admit\./, 20_000);
    // A second copy would be queued with the first; the /status reply is queued after it (the chat's outbox sends in order).
    await e2e.ask(chats.admit, "/status");
    const copies = answers(chats.admit.id, "Answer to admit.");
    expect(copies.length === 1 || (copies.length === 2 && copies.some((m) => m.text!.includes(DUPLICATE_LABEL)))).toBe(true);
    const asked = e2e.model.requests.filter((r) => lastUserText(r).includes("crash while admitting me"));
    expect(asked.length).toBeGreaterThanOrEqual(1);
  });

  it("/status after a restart still shows the session's state and token usage", async () => {
    // The "down" chat had its turn in an earlier life of the host; its worker is not running now.
    const status = await e2e.ask(chats.down, "/status");
    expect(status).toMatch(/^Conversation: tg-\d{6}$/m);
    expect(status).toMatch(/^Session: /m);
    expect(status).toMatch(/^Tokens: \d+ in \/ \d+ out over 1 turns?/m);
  });

  it("SIGTERM mid-turn exits 0 in bounded time; the restart answers the turn and what came meanwhile", async () => {
    e2e.send(chats.term, "take your time [slowterm]");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("[slowterm]")), "the model call to start");
    const workers = e2e.host!.workerPids();
    expect(workers.length).toBeGreaterThan(0);
    // The model call hangs until the host aborts it: a clean exit at all shows the shutdown is bounded.
    const exit = await e2e.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    await e2e.until(() => workers.every((pid) => !alive(pid)), "the workers to exit with the host", 3_000);
    expect(answers(chats.term.id, "Answer after the restart.")).toHaveLength(0);

    e2e.send(chats.left, "sent while stopped [left]");
    await sleep(200);
    e2e.start();
    await e2e.waitText(chats.term.id, /^Answer after the restart\.$/, 20_000);
    await e2e.waitText(chats.left.id, /^Answer to left\.$/, 20_000);
    await e2e.ask(chats.term, "/status"); // queued after a second copy of the answer (see above)
    expect(answers(chats.term.id, "Answer after the restart.")).toHaveLength(1);
    // The turn kept its one progress panel (its id was stored), finalised after the restart.
    await e2e.until(() => panels(e2e.telegram, chats.term.id).at(-1)?.text?.includes("✅ Done"), "the panel to show done", 5_000);
    expect(panels(e2e.telegram, chats.term.id)).toHaveLength(1);
    // No "interrupted, send /continue" notice: the host continued the turn by itself.
    expect(e2e.replies(chats.term.id).some((m) => /interrupted/i.test(m.text ?? ""))).toBe(false);
  });
});
