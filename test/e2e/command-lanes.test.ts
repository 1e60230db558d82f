// A command waits on its chat's session worker (/status, /cancel, /continue: up to the worker's answer deadline),
// but no other chat may wait with it: commands are stored with their update id (commit point `command_pending`)
// and answered off the Telegram poller (ARCHITECTURE §5.1, §8 "Commands"). The real host, supervisor and workers;
// fakes only at the Bot API and the model. No warm spare, so the host's only workers are the chats'.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, processAlive, startE2E, type E2E } from "./fixture.js";

/** Far above how long chat B's answer takes (under a second; seconds on a loaded machine), so "B answered while A's /status waits" is no race. */
const ANSWER_MS = "8000";
const HELP = /^Send me a message and I will work on it/;

function respond(req: RecordedRequest): ScriptedReply {
  return { text: `echo: ${lastUserText(req)}` };
}

const a = privateChat(2601, "StuckA");
const b = privateChat(2602, "FineB");
const crashChats = { command_pending: privateChat(2603, "CrashPending"), command_reply: privateChat(2604, "CrashReply") } as const;
let e2e: E2E;
const stopped: number[] = [];

beforeAll(async () => {
  const admins = [a.id, b.id, ...Object.values(crashChats).map((c) => c.id)];
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: admins, workers: { warm_spares: 0 } } });
});

afterEach(async () => {
  for (const pid of stopped.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
});

afterAll(async () => {
  await e2e?.close();
});

async function answered(chat: typeof a, text: string): Promise<void> {
  expect(await e2e.ask(chat, text, { timeoutMs: 30_000 })).toMatch(new RegExp(`^echo: [\\s\\S]*${text}$`));
}

describe("commands off the poller", { timeout: 180_000 }, () => {
  it("a /status waiting on a stuck worker holds only its own chat: another chat is answered first", async () => {
    await e2e.hostWith({ STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
    await answered(a, "hello from A");
    const workerA = await e2e.until(() => e2e.host!.workerPids()[0], "A's worker");
    await answered(b, "hello from B");

    process.kill(workerA, "SIGSTOP");
    stopped.push(workerA);
    const aBefore = e2e.replies(a.id).length;
    e2e.send(a, "/status");
    e2e.send(b, "B, while A's worker is stuck");
    await e2e.waitText(b.id, /^echo: [\s\S]*B, while A's worker is stuck$/, 60_000);
    expect(e2e.replies(a.id).slice(aBefore).map((m) => m.text), "A's /status is still waiting for its worker when B is answered").toEqual([]);

    const status = await e2e.waitText(a.id, /^Session: /m, 60_000);
    expect(status.text).toMatch(/^Session: ⚠️ the worker did not answer within 8 s \(it was stuck\) and was killed; a new one starts with the next message$/m);
    expect(e2e.replies(a.id).slice(aBefore)).toHaveLength(1);
    await e2e.until(() => !processAlive(workerA), "the stuck worker gone");
    await answered(a, "A again, after the stuck worker");
  });

  for (const point of ["command_pending", "command_reply"] as const) {
    it(`host killed at ${point}: the restarted host answers the command once`, async () => {
      const chat = crashChats[point];
      if (e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop();
      const host = e2e.start({ STARLING_CRASH_AT: point });
      e2e.send(chat, "/help");
      await e2e.killedAt(host, point);
      e2e.start();
      await e2e.waitText(chat.id, HELP, 40_000);
      // Killed before the reply was stored: the restarted host runs the stored command; after: it only sends the stored reply.
      const rerun = e2e.logRecords().filter((r) => r["msg"] === "answering a command admitted before the restart" && r["chatId"] === String(chat.id));
      expect(rerun).toHaveLength(point === "command_pending" ? 1 : 0);
      // A second answer would be queued before this one (a chat's commands run in order, its outbox sends in order).
      expect(await e2e.ask(chat, "/cancel", { timeoutMs: 30_000 })).toMatch(/^Nothing to cancel/);
      expect(e2e.replies(chat.id).filter((m) => HELP.test(m.text ?? "")).map((m) => m.text!.slice(0, 40))).toHaveLength(1);
      expect(await e2e.stop()).toEqual({ code: 0, signal: null });
    });
  }
});
