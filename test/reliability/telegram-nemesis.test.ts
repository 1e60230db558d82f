// Telegram nemesis (issue #7): the fake Bot API answers 429 with retry_after, 5xx, 409, resets
// connections (before and after a send went through), hangs a send, refuses edits ("message is not
// modified", "message to edit not found") and loses a chat ("chat not found"). Every reply is still
// delivered exactly once or labelled, in order, and no call for a chat starts before retry_after passed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat, ruleNemesis, type NemesisRule } from "../fakes/telegram-api.js";
import { chatTimeline, checkHistory, formatViolations, markersIn } from "./history.js";
import { recordHistory } from "./record.js";
import { kindOf, prng, soakModel } from "./soak-model.js";

const SEED = Number(process.env.STARLING_NEMESIS_SEED ?? 7);
const chats = [privateChat(8101, "Nem 1"), privateChat(8102, "Nem 2"), privateChat(8103, "Nem 3")];
const gone = privateChat(8199, "Gone");
const t429 = { kind: "fault", fault: { status: 429, retryAfter: 3 } } as const;
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

/** The first marker `m:<chat>-<k>`, k ≥ from, that the soak model answers at once for this seed (not flaky, slow or with tools). */
const plainMarker = (chat: string, from: number): string => {
  for (let k = from; ; k++) if (kindOf(SEED, `m:${chat}-${k}`) === "plain") return `m:${chat}-${k}`;
};

let e2e: E2E;
const model = soakModel(SEED);

beforeAll(async () => {
  e2e = await startE2E({ responder: (req) => model.respond(req), start: false, config: { adminUserIds: [...chats, gone].map((c) => c.id) } });
  // A hung send is given up after 8 s instead of the default 20 s (the "hangs" case waits that out). 8 s, not 5: a send slowed by a loaded CI machine must not be taken for a hung one.
  e2e.env.STARLING_TEST_TELEGRAM_REQUEST_TIMEOUT_MS = "8000";
  // The injected 409 is followed by a 0.5 s backoff instead of 5 s (only that polling resumes is checked).
  e2e.env.STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS = "500";
  e2e.start();
});

afterAll(async () => {
  await e2e?.close();
});

describe("Telegram nemesis", () => {
  it(`delivers every reply exactly once or labelled, in order, obeying retry_after (seed ${SEED})`, async () => {
    const { nemesis, counts } = ruleNemesis(rules, prng(SEED));
    e2e.telegram.setNemesis(nemesis);
    const startedAt = Date.now();
    const isOffer = (text: string | undefined) => (text ?? "").includes("Send /continue");
    const answeredIn = (chatId: number, marker: string) => e2e.replies(chatId).some((m) => markersIn(m.text ?? "").includes(marker));
    /** Per chat: replies already looked at for /continue offers. */
    const seen = new Map<number, number>();
    const newOffer = (chatId: number) => e2e.replies(chatId).slice(seen.get(chatId) ?? 0).some((m) => isOffer(m.text));
    // Waits for the answer to `marker`; a flaky model turn offers /continue, taken up as a user would.
    // Any offer counts, labelled "(possible duplicate)" or not: when the first copy's send failed, the
    // labelled re-send is the only one the user sees. A late second copy at worst earns a "nothing to continue".
    const awaitAnswer = async (chat: (typeof chats)[number], marker: string) => {
      const chatId = chat.id;
      try {
        for (let attempt = 0; ; attempt++) {
          await e2e.until(() => answeredIn(chatId, marker) || newOffer(chatId), `an answer to ${marker}`, 60_000);
          if (answeredIn(chatId, marker)) return;
          if (attempt >= 3) throw new Error(`${marker} was offered /continue ${attempt + 1} times without an answer`);
          seen.set(chatId, e2e.replies(chatId).length);
          e2e.send(chat, "/continue");
        }
      } catch (err) {
        // A timeout names the chat's whole timeline (ins, outs, refused calls), not only the host log.
        const timeline = chatTimeline(recordHistory(e2e.telegram, startedAt), chatId);
        throw new Error(`${(err as Error).message}\n--- chat timeline ---\n${timeline}`);
      }
    };
    // Four rounds: every chat writes, then the round is answered before the next.
    for (let round = 1; round <= 4; round++) {
      const markers = chats.map((chat, i) => [chat, `m:n${i + 1}-${round}`] as const);
      for (const [chat, marker] of markers) {
        seen.set(chat.id, e2e.replies(chat.id).length);
        e2e.send(chat, `round ${round} [${marker}]`);
      }
      await Promise.all(markers.map(([chat, marker]) => awaitAnswer(chat, marker)));
    }
    await e2e.until(() => e2e.telegram.pendingUpdates() === 0, "every update taken", 30_000);
    e2e.telegram.setNemesis(undefined);
    const history = recordHistory(e2e.telegram, startedAt);
    const report = formatViolations(checkHistory(history), `telegram nemesis seed ${SEED}; faults ${JSON.stringify([...counts])}`);
    expect(report, report).toBe("");
    expect(counts.size, `faults of several kinds were injected: ${JSON.stringify([...counts])}`).toBeGreaterThanOrEqual(6);
  }, 180_000);

  for (const kind of ["reset_after", "hang"] as const) {
    it(`a reply whose send ${kind === "hang" ? "hangs" : "went through but whose answer was lost"} is re-sent once, labelled`, async () => {
      const chat = chats[1]!;
      // A plain turn: one reply, no /continue offer, whatever the seed.
      const marker = plainMarker("n2", kind === "hang" ? 30 : 10);
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
    const marker = plainMarker("n1", 50);
    const answer = await e2e.ask(chats[0]!, `still here? [${marker}]`);
    expect(answer).toContain(marker);
    expect(e2e.host!.child.exitCode).toBeNull();
    e2e.telegram.setNemesis(undefined);
  }, 60_000);
});
