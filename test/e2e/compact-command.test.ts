// /compact end to end: the chat's history is summarised at once (its threshold is never reached here), the chat is
// told how it went, and the next turn sends the summary instead of the older messages; with nothing to summarise the
// answer says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

const chat = privateChat(841, "Compact");
const cancelChat = privateChat(842, "CompactCancel");
let e2e: E2E;

/** The worker's summary request (compaction.ts SUMMARY_SYSTEM). */
const isSummary = (req: RecordedRequest) => requestText(req).includes("You compress a conversation");
const padding = "Some context that makes this message longer than what a compaction keeps verbatim. ".repeat(3);

beforeAll(async () => {
  e2e = await startE2E({
    // A summary of the cancel chat's history never comes: /cancel stops it.
    responder: (req) => (isSummary(req) ? (requestText(req).includes("[slow]") ? { hang: true } : { text: "SUMMARY: the user told three stories." }) : { text: "noted" }),
    config: { adminUserIds: [chat.id, cancelChat.id], compression: { threshold: 1_000_000, retain: 30 }, channel: { pace_sends: false } },
  });
});

afterAll(async () => {
  await e2e?.close();
});

describe("/compact", { timeout: 60_000 }, () => {
  it("summarises the older history now, says how it went, and the next turn sends the summary", async () => {
    for (const n of [1, 2, 3]) expect(await e2e.ask(chat, `story ${n}. ${padding}`)).toBe("noted");
    expect(e2e.model.requests.some(isSummary)).toBe(false);

    // The reply and the outcome's notice come from separate commits (the command's and the event's): either may be first.
    e2e.send(chat, "/compact");
    await e2e.waitText(chat.id, /^Compacting this conversation's history: the older part is summarised, the recent part kept word for word\. I will say when it is done \(\/cancel stops it\)\.$/);
    const told = await e2e.waitText(chat.id, /^🗜 Compacted: /);
    expect(told.text).toMatch(/^🗜 Compacted: \d+ older messages summarised; the context went from ≈\d+ to ≈\d+ tokens\.$/);
    expect(e2e.model.requests.filter(isSummary)).toHaveLength(1);

    expect(await e2e.ask(chat, "what were the stories?")).toBe("noted");
    const sent = wireMessages(e2e.model.requests.at(-1)!);
    expect(JSON.stringify(sent)).toContain("SUMMARY: the user told three stories.");
    expect(JSON.stringify(sent)).not.toContain("story 1.");

    // Right after it nothing is left to summarise: the answer says so.
    expect(await e2e.ask(chat, "/compact")).toMatch(/^Nothing to compact now: the history is short \(≈\d+ tokens\): all of it is what a compaction keeps verbatim\.$/);
    expect(e2e.model.requests.filter(isSummary)).toHaveLength(1);
  });

  it("/cancel stops a compaction: the history is unchanged and no outcome is told", async () => {
    for (const n of [1, 2]) expect(await e2e.ask(cancelChat, `[slow] story ${n}. ${padding}`)).toBe("noted");
    const summaries = e2e.model.requests.filter(isSummary).length;
    e2e.send(cancelChat, "/compact");
    await e2e.waitText(cancelChat.id, /^Compacting this conversation's history/);
    await e2e.until(() => e2e.model.requests.filter(isSummary).length > summaries, "the summary request");
    expect(await e2e.ask(cancelChat, "/cancel")).toBe("Stopped the compaction /compact started; the history is unchanged.");
    expect(await e2e.ask(cancelChat, "still there?")).toBe("noted");
    expect(JSON.stringify(wireMessages(e2e.model.requests.at(-1)!))).toContain("story 1.");
    expect(e2e.replies(cancelChat.id).some((m) => /^(🗜|⚠️ Compacting)/.test(m.text ?? ""))).toBe(false);
  });
});
