// The plain messages of one getUpdates batch are admitted in one sync batch (commit point `admit`,
// ARCHITECTURE §5.1): a kill -9 right after that batch, or a failed write of it, loses and repeats
// nothing — every message is answered exactly once after the restart / the retry.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, sleep, startE2E, type E2E } from "./fixture.js";

// Tags look like [crash-a1]; the user name the host adds in front has a space, so it never matches.
const respond = (req: RecordedRequest): ScriptedReply => ({ text: `Answer to ${/\[([\w-]+)\]/.exec(lastUserText(req))?.[1] ?? "none"}.` });

const alice = privateChat(801, "Alice A");
const bob = privateChat(802, "Bob B");
const carol = privateChat(803, "Carol C");
const dave = privateChat(804, "Dave D");
const chats = [alice, bob, carol, dave];

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { channel: { pace_sends: false }, adminUserIds: [alice.id], allowedChatIds: chats.map((c) => c.id) } });
});
afterEach(async () => {
  if (e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop("SIGKILL");
});
afterAll(async () => {
  await e2e?.close();
});

/** Queues one message per chat before the host polls, so its first getUpdates returns all of them. */
function queue(round: string): string[] {
  const tags = chats.map((_, i) => `${round}-${i}`);
  chats.forEach((chat, i) => e2e.send(chat, `[${tags[i]}] hello`));
  return tags;
}

const chatOf = (tag: string) => chats[Number(tag.split("-").at(-1))]!;

async function expectEachAnswered(tags: string[]): Promise<void> {
  for (const tag of tags) {
    await e2e.waitText(chatOf(tag).id, new RegExp(`Answer to ${tag}\\.`), 45_000).catch((err: Error) => {
      throw new Error(`${err.message.split("\n")[0]}; sent: ${JSON.stringify(e2e.telegram.messages().map((m) => [m.chatId, m.text]))}`);
    });
  }
}

/** No second copy: one would be queued with the first; a /status reply is queued after it (a chat's outbox sends in order). */
async function expectNoSecondCopy(tags: string[]): Promise<void> {
  await Promise.all(tags.map((tag) => e2e.ask(chatOf(tag), "/status")));
  for (const tag of tags) {
    const copies = e2e.replies(chatOf(tag).id).filter((m) => (m.text ?? "").includes(`Answer to ${tag}.`));
    expect(copies, tag).toHaveLength(1);
  }
}

async function expectEachAnsweredOnce(tags: string[]): Promise<void> {
  await expectEachAnswered(tags);
  await expectNoSecondCopy(tags);
}

describe("admission of a getUpdates batch", () => {
  it("a kill -9 right after the batch's admit write: after the restart each message is answered once", async () => {
    const tags = queue("crash");
    const host = e2e.start({ STARLING_CRASH_AT: "admit" });
    const exit = await Promise.race([host.exited, sleep(80_000).then(() => null)]);
    expect(exit, "the host killed itself at admit").toEqual({ code: null, signal: "SIGKILL" });
    e2e.start();
    await expectEachAnsweredOnce(tags);
    await e2e.stop();
  });

  it("the messages of one getUpdates batch take one admit write (a crash set for the second one never comes)", async () => {
    const tags = queue("one");
    const host = e2e.start({ STARLING_CRASH_AT: "admit:2" });
    await expectEachAnswered(tags);
    expect(host.child.exitCode, "the host is still running").toBeNull();
    expect(host.child.signalCode).toBeNull();
    // The /status of the check below is admitted in a write of its own: asked of a host without the crash point.
    expect((await e2e.stop()).code).toBe(0);
    e2e.start();
    await expectNoSecondCopy(tags);
    await e2e.stop();
  });

  it("a failed write of the batch changes nothing: the messages are admitted again and each answered once", async () => {
    const tags = queue("fail");
    e2e.start({ STARLING_FAIL_AT: "admit:1:1" });
    await expectEachAnsweredOnce(tags);
    await e2e.stop();
  });
});
