// Telegram nemesis (issue #7): the fake Bot API answers 429 with retry_after, 5xx, 409, resets
// connections (before and after a send went through), hangs a send, refuses edits ("message is not
// modified", "message to edit not found") and loses a chat ("chat not found"). Every reply is still
// delivered exactly once or labelled, in order, and no call for a chat starts before retry_after passed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat, ruleNemesis, type NemesisRule } from "../fakes/telegram-api.js";
import { checkHistory, formatViolations, markersIn } from "./history.js";
import { recordHistory } from "./record.js";
import { prng, soakModel } from "./soak-model.js";

const SEED = Number(process.env.STARLING_NEMESIS_SEED ?? 7);
const chats = [privateChat(8101, "Nem 1"), privateChat(8102, "Nem 2"), privateChat(8103, "Nem 3")];
const gone = privateChat(8199, "Gone");
const t429 = { kind: "fault", fault: { status: 429, retryAfter: 1 } } as const;
const rules: NemesisRule[] = [
  { methods: ["getUpdates"], rate: 0.08, limit: 2, action: t429 },
  { methods: ["getUpdates"], rate: 0.08, limit: 3, action: { kind: "fault", fault: { status: 502 } } },
  { methods: ["getUpdates"], rate: 0.08, limit: 3, action: { kind: "reset" } },
  { methods: ["getUpdates"], rate: 0.05, limit: 1, action: { kind: "fault", fault: { status: 409 } } },
  { methods: ["sendMessage"], rate: 0.12, limit: 4, action: t429 },
  { methods: ["sendMessage"], rate: 0.1, limit: 3, action: { kind: "fault", fault: { status: 500 } } },
  { methods: ["sendMessage"], rate: 0.1, limit: 3, action: { kind: "reset" } },
  { methods: ["sendMessage"], rate: 0.08, limit: 2, action: { kind: "reset_after" } },
  { methods: ["editMessageText"], rate: 0.2, action: { kind: "fault", fault: { status: 400, description: "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message" } } },
  { methods: ["editMessageText"], rate: 0.1, limit: 2, action: { kind: "fault", fault: { status: 400, description: "message to edit not found" } } },
  { methods: ["editMessageText", "sendChatAction"], rate: 0.1, limit: 3, action: t429 },
  { methods: ["sendChatAction"], rate: 0.2, action: { kind: "fault", fault: { status: 500 } } },
];

let e2e: E2E;
const model = soakModel(SEED);

beforeAll(async () => {
  e2e = await startE2E({ responder: (req) => model.respond(req), config: { adminUserIds: [...chats, gone].map((c) => c.id) } });
});

afterAll(async () => {
  await e2e?.close();
});

describe("Telegram nemesis", () => {
  it(`delivers every reply exactly once or labelled, in order, obeying retry_after (seed ${SEED})`, async () => {
    const { nemesis, counts } = ruleNemesis(rules, prng(SEED));
    e2e.telegram.setNemesis(nemesis);
    const startedAt = Date.now();
    const markers: [number, string][] = [];
    // Four rounds: every chat writes, then the round is answered before the next.
    for (let round = 1; round <= 4; round++) {
      for (const [i, chat] of chats.entries()) {
        const marker = `m:n${i + 1}-${round}`;
        markers.push([chat.id, marker]);
        e2e.send(chat, `round ${round} [${marker}]`);
      }
      for (const [chatId, marker] of markers) {
        await e2e.until(() => e2e.replies(chatId).some((m) => markersIn(m.text ?? "").includes(marker) || (m.text ?? "").includes("Send /continue")), `an answer to ${marker}`, 60_000);
      }
      // A flaky model turn offers /continue: take it up, as a user would.
      for (const chat of chats) {
        const offers = e2e.replies(chat.id).filter((m) => (m.text ?? "").includes("Send /continue") && !(m.text ?? "").includes("(possible duplicate)"));
        const continues = e2e.telegram.updates().filter((u) => u.message?.chat.id === chat.id && u.message.text === "/continue").length;
        for (let k = continues; k < offers.length; k++) e2e.send(chat, "/continue");
      }
      for (const [chatId, marker] of markers) {
        await e2e.until(() => e2e.replies(chatId).some((m) => markersIn(m.text ?? "").includes(marker)), `an answer to ${marker}`, 60_000);
      }
    }
    await e2e.until(() => e2e.telegram.pendingUpdates() === 0, "every update taken", 30_000);
    e2e.telegram.setNemesis(undefined);
    const history = recordHistory(e2e.telegram, startedAt);
    const report = formatViolations(checkHistory(history), `telegram nemesis seed ${SEED}; faults ${JSON.stringify([...counts])}`);
    expect(report, report).toBe("");
    expect(counts.size, "faults of several kinds were injected").toBeGreaterThanOrEqual(6);
  }, 180_000);

  for (const kind of ["reset_after", "hang"] as const) {
    it(`a reply whose send ${kind === "hang" ? "hangs" : "went through but whose answer was lost"} is re-sent once, labelled`, async () => {
      const chat = chats[1]!;
      const marker = `m:n2-${kind === "hang" ? 11 : 10}`;
      let struck = false;
      e2e.telegram.setNemesis(({ method, params }) => {
        if (struck || method !== "sendMessage" || !String(params["text"]).includes(marker)) return undefined;
        struck = true;
        return { kind };
      });
      e2e.send(chat, `once more [${marker}]`);
      const copies = () => e2e.replies(chat.id).filter((m) => markersIn(m.text ?? "").includes(marker));
      await e2e.until(() => copies().length >= (kind === "reset_after" ? 2 : 1), `the answer to ${marker}`, 60_000);
      expect(struck).toBe(true);
      const texts = copies().map((m) => m.text);
      expect(texts.filter((t) => !t!.includes("(possible duplicate)")).length, JSON.stringify(texts)).toBeLessThanOrEqual(1);
      e2e.telegram.setNemesis(undefined);
    }, 90_000);
  }

  it('drops replies to a chat Telegram reports as "chat not found", and keeps serving the others', async () => {
    e2e.telegram.setNemesis(({ method, params }) =>
      method === "sendMessage" && String(params["chat_id"]) === String(gone.id) ? { kind: "fault", fault: { status: 400, description: "chat not found" } } : undefined,
    );
    e2e.send(gone, "anyone there? [m:g1-1]");
    await e2e.until(() => e2e.logTail(400).includes("chat not found"), "the host to log the refused send");
    const answer = await e2e.ask(chats[0]!, "still here? [m:n1-9]");
    expect(answer).toContain("m:n1-9");
    expect(e2e.host!.child.exitCode).toBeNull();
    e2e.telegram.setNemesis(undefined);
  }, 60_000);
});
