// Limits and saturation through the real CLI (docs/SECURITY.md "Limits"): a flooding chat gets every
// message either run or refused with a notice, and does not hold up another chat; tools.deny.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, requestText, sleep, startE2E, wireMessages, type E2E } from "./fixture.js";

const PER_MINUTE = 40;
const flood = (i: number) => `flood-${String(i).padStart(2, "0")}`;

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.includes("[deny]")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "shell", arguments: { command: "echo should-not-run" } }] };
    const result = wireMessages(req).at(-1);
    return { text: `tool said: ${typeof result?.content === "string" ? result.content : JSON.stringify(result?.content)}` };
  }
  if (ask.includes("[other]")) return { text: "other chat answered" };
  const seen = [...requestText(req).matchAll(/flood-(\d\d)/g)].map((m) => Number(m[1]));
  return { delayMs: 300, text: `answered through ${flood(Math.max(0, ...seen))}` };
}

const flooder = privateChat(201, "Flooder");
const other = privateChat(202, "Other");
const crasher = privateChat(203, "Crasher");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    config: {
      adminUserIds: [flooder.id, other.id, crasher.id],
      workers: { max_concurrent_turns: 1 },
      extra: { limits: { per_chat_messages_per_minute: PER_MINUTE, max_queued_turns: 200 }, tools: { deny: ["shell"] } },
    },
  });
});

afterAll(async () => {
  await e2e?.close();
});

/** Index of the first model request that contains `text`, or -1. */
const firstRequestWith = (text: string) => e2e.model.requests.findIndex((r) => requestText(r).includes(text));

describe("limits", { timeout: 90_000 }, () => {
  it("a flood of 60 messages: each runs or gets a refusal notice naming it, and the other chat is not held up behind it", async () => {
    e2e.send(flooder, flood(0));
    await e2e.until(() => firstRequestWith(flood(0)) >= 0, "the flooder's first turn");
    // 60 messages at once from one chat, with the other chat's message in the middle of them.
    for (let i = 1; i <= 30; i++) e2e.send(flooder, flood(i));
    e2e.send(other, "hello from the other chat [other]");
    for (let i = 31; i <= 60; i++) e2e.send(flooder, flood(i));

    // flood-00 … flood-39 are within the per-chat rate; flood-40 … flood-60 are over it.
    const passed = Array.from({ length: PER_MINUTE }, (_, i) => flood(i));
    const refused = Array.from({ length: 61 - PER_MINUTE }, (_, i) => flood(PER_MINUTE + i));
    const notices = () => e2e.replies(flooder.id).filter((m) => (m.text ?? "").startsWith("⏳ Not passed on"));
    const named = () => notices().map((n) => n.text ?? "").join("\n");
    await e2e.until(() => refused.every((m) => named().includes(`"${m}"`)), "a refusal notice naming every message over the limit", 40_000);
    await e2e.waitText(other.id, /^other chat answered$/, 40_000);
    // The last message within the limit runs.
    await e2e.until(() => firstRequestWith(flood(PER_MINUTE - 1)) >= 0, `a turn with ${flood(PER_MINUTE - 1)}`, 40_000);

    // Nothing dropped silently: each message reached the model or got a notice that quotes it.
    for (const m of passed) expect(firstRequestWith(m), `${m} reached the model`).toBeGreaterThanOrEqual(0);
    // Refusals are coalesced into the chat's unsent notice: one message names many, none twice.
    const noticeTexts = notices().map((n) => n.text ?? "");
    for (const m of refused) {
      expect(noticeTexts.filter((t) => t.includes(`"${m}"`)), `one notice names ${m}`).toHaveLength(1);
      expect(firstRequestWith(m), `${m} never reached the model`).toBe(-1);
    }
    for (const t of noticeTexts) {
      expect(t).toMatch(new RegExp(`This chat sent ${PER_MINUTE} messages in the last minute, the most it may send\\. Send (it|them) again in \\d+ s\\.$`));
    }
    for (const m of passed) expect(named()).not.toContain(`"${m}"`);

    // Fairness (one turn slot): the flooder's messages that came after the other chat's were held
    // back until the other chat's turn had run, instead of interrupting and extending the flood's turn.
    const otherTurn = e2e.model.requests.findIndex((r) => lastUserText(r).includes("[other]"));
    expect(otherTurn).toBeGreaterThan(0);
    for (let i = 31; i < PER_MINUTE; i++) expect(firstRequestWith(flood(i)), `${flood(i)} after the other chat`).toBeGreaterThan(otherTurn);
  });

  it("tools.deny: a denied tool is not offered to the model, and a call to it is an unknown tool", async () => {
    const reply = await e2e.ask(other, "run something [deny]", { timeoutMs: 30_000 });
    const first = e2e.model.requests.find((r) => lastUserText(r).includes("[deny]") && !afterTool(r))!;
    const offered = ((first.body.tools ?? []) as { function: { name: string } }[]).map((t) => t.function.name);
    expect(offered).toContain("file_read");
    expect(offered).not.toContain("shell");
    expect(reply).toMatch(/^tool said: Unknown tool "shell": it is not in this session's catalog\./);
  });

  it("a crash right after a refusal is committed (STARLING_CRASH_AT=admit): after the restart the notice is sent once and the message never runs", async () => {
    await e2e.stop();
    const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as { limits: Record<string, number> };
    config.limits.per_chat_messages_per_minute = 1;
    writeFileSync(e2e.configPath, JSON.stringify(config));
    // In the new process the window starts empty: the 1st message is passed on, the 2nd refused. Both
    // are queued before the host polls, so one getUpdates brings both and they are admitted in one
    // batch; the host kills itself right after that batch (update ids, item + notice) is durable.
    e2e.send(crasher, "crash-one");
    e2e.send(crasher, "crash-two");
    const host = e2e.start({ STARLING_CRASH_AT: "admit" });
    const exit = await Promise.race([host.exited, sleep(40_000).then(() => null)]);
    expect(exit).toEqual({ code: null, signal: "SIGKILL" });
    e2e.start();
    const notice = await e2e.waitText(crasher.id, /^⏳ Not passed on to the agent: "crash-two"\./, 40_000);
    expect(notice.text).toMatch(/This chat sent 1 messages in the last minute, the most it may send\. Send it again in \d+ s\.$/);
    await e2e.until(() => firstRequestWith("crash-one") >= 0, "the first message's turn", 40_000);
    // A second notice would be queued with the first; the /status reply is queued after it (the chat's outbox sends in order).
    await e2e.ask(crasher, "/status");
    expect(e2e.replies(crasher.id).filter((m) => (m.text ?? "").includes('"crash-two"'))).toHaveLength(1);
    expect(firstRequestWith("crash-two")).toBe(-1);
  });
});
