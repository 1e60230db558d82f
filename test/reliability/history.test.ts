// The checker must fail when it should: one hand-made history per invariant, plus a clean one.
import { describe, expect, it } from "vitest";
import { abandonedByNew, checkHistory, cronSlotsIn, formatViolations, type History, type InboundRecord, type SendRecord } from "./history.js";

const C = 101;
const inbound = (updateId: number, text: string, at: number, admitted: number | null = at + 5): InboundRecord => ({
  chatId: C,
  updateId,
  text,
  sentAt: at,
  admittedAt: admitted,
});
const send = (messageId: number, text: string, at: number, chatId = C): SendRecord => ({ chatId, messageId, text, at });

function history(parts: Partial<History>): History {
  return { startedAt: 0, inbound: [], sends: [], calls: [], transcripts: [], pendingUpdatesAtEnd: 0, ...parts };
}

/** A clean conversation: two messages, answered in order, one labelled re-send. */
const clean = (): History =>
  history({
    inbound: [inbound(1, "hello [m:c1-1]", 100), inbound(2, "more [m:c1-2]", 200), inbound(3, "/cancel", 250)],
    sends: [
      send(2, "Answer to m:c1-1.", 150),
      send(4, "⚠️ The turn failed (server): boom\nSend /continue to try again.", 300),
      send(5, "Answer to m:c1-2.", 400),
      send(6, "♻️ (possible duplicate) Answer to m:c1-2.", 900),
    ],
    calls: [
      { method: "sendMessage", chatId: C, startedAt: 500, endedAt: 501, status: 429, retryAfter: 3 },
      { method: "sendMessage", chatId: C, startedAt: 3510, endedAt: 3512, status: 200 },
    ],
    transcripts: [{ sessionId: "s.foreground", toolCalls: [{ id: "a", name: "shell" }], toolResults: ["a"], unfinishedTurn: false }],
  });

const names = (h: History) => checkHistory(h).map((v) => v.invariant);

describe("history checker", () => {
  it("accepts a history that keeps every promise", () => {
    expect(formatViolations(checkHistory(clean()))).toBe("");
  });

  it("finds an admitted message nobody answered, and prints the chat's timeline", () => {
    const h = clean();
    h.sends = h.sends.filter((s) => !s.text.includes("m:c1-2"));
    const [v, ...rest] = checkHistory(h);
    expect(rest).toEqual([]);
    expect(v!.invariant).toBe("answered");
    expect(v!.message).toMatch(/m:c1-2 \(update 2\) was admitted but it failed with \/continue offered, and was never answered/);
    expect(v!.slice).toContain('IN  u2 "more [m:c1-2]"');
    expect(v!.slice).toContain("Send /continue");
  });

  it("does not require an answer to a message the bot never acknowledged, but reports the bot as wedged", () => {
    const h = clean();
    h.inbound.push(inbound(4, "late [m:c1-3]", 950, null));
    h.pendingUpdatesAtEnd = 1;
    expect(names(h)).toEqual(["not_wedged"]);
  });

  it("finds a second unlabelled answer", () => {
    const h = clean();
    h.sends.push(send(7, "Answer to m:c1-2.", 1000));
    const v = checkHistory(h);
    expect(v.map((x) => x.invariant)).toEqual(["no_unlabelled_duplicate"]);
    expect(v[0]!.message).toMatch(/m:c1-2 answered 2 times .*#5, #7/);
  });

  it("finds replies out of order", () => {
    const h = history({
      inbound: [inbound(1, "first [m:c1-1]", 100), inbound(2, "second [m:c1-2]", 110)],
      sends: [send(3, "Answer to m:c1-2.", 200), send(4, "Answer to m:c1-1.", 300)],
    });
    const v = checkHistory(h);
    expect(v.map((x) => x.invariant)).toEqual(["replies_in_order"]);
    expect(v[0]!.message).toMatch(/m:c1-2 was sent after m:c1-1 but answered first/);
  });

  it("accepts one reply answering several messages (a turn that took in a newer message)", () => {
    const h = history({
      inbound: [inbound(1, "first [m:c1-1]", 100), inbound(2, "second [m:c1-2]", 110), inbound(3, "third [m:c1-3]", 120)],
      sends: [send(4, "Answer to m:c1-1 m:c1-2.", 200), send(5, "Answer to m:c1-3.", 300)],
    });
    expect(checkHistory(h)).toEqual([]);
  });

  it("finds a tool call with no result, one with two, and a result without a call", () => {
    const h = clean();
    h.transcripts.push({
      sessionId: "t.foreground",
      toolCalls: [
        { id: "x", name: "file_write" },
        { id: "y", name: "shell" },
      ],
      toolResults: ["y", "y", "z"],
      unfinishedTurn: false,
    });
    const messages = checkHistory(h).map((v) => `${v.invariant}: ${v.message}`);
    expect(messages).toEqual([
      "one_result_per_tool_call: session t.foreground: tool call x (file_write) has 0 results",
      "one_result_per_tool_call: session t.foreground: tool call y (shell) has 2 results",
      "one_result_per_tool_call: session t.foreground: a result for z, which no call made",
    ]);
  });

  it("accepts pending calls (no result yet) at the end of an archived session's unfinished turn, not earlier ones", () => {
    const h = clean();
    const calls = ["a", "b", "c"].map((id) => ({ id, name: "file_write" }));
    h.transcripts.push({ sessionId: "archived:s.foreground-2026", toolCalls: calls, toolResults: ["b"], unfinishedTurn: true });
    expect(checkHistory(h).map((v) => v.message)).toEqual(["session archived:s.foreground-2026: tool call a (file_write) has 0 results"]);
    h.transcripts[1]!.unfinishedTurn = false;
    expect(checkHistory(h).map((v) => v.message)).toHaveLength(2);
  });

  it("finds a session left with an unfinished turn", () => {
    const h = clean();
    h.transcripts[0]!.unfinishedTurn = true;
    expect(names(h)).toEqual(["not_wedged"]);
  });

  it("finds a send to the chat before retry_after passed, and ignores other chats", () => {
    const h = clean();
    h.calls.push({ method: "sendMessage", chatId: 999, startedAt: 700, endedAt: 701, status: 200 });
    expect(names(h)).toEqual([]);
    h.calls.push({ method: "sendChatAction", chatId: C, startedAt: 1700, endedAt: 1701, status: 200 });
    const v = checkHistory(h);
    expect(v.map((x) => x.invariant)).toEqual(["retry_after_obeyed"]);
    expect(v[0]!.message).toBe("chat 101: sendChatAction 1.199s after a 429 that asked for retry_after=3");
  });

  it("checks chat-less methods (getUpdates) by method", () => {
    const h = clean();
    h.calls.push({ method: "getUpdates", chatId: null, startedAt: 10, endedAt: 20, status: 429, retryAfter: 3 });
    h.calls.push({ method: "getUpdates", chatId: null, startedAt: 1500, endedAt: 1700, status: 200 });
    expect(names(h)).toEqual(["retry_after_obeyed"]);
    // A call arriving within the tolerance (1 s) of the 429 may have been sent before it was read.
    h.calls.pop();
    h.calls.push({ method: "getUpdates", chatId: null, startedAt: 900, endedAt: 910, status: 200 });
    expect(names(h)).toEqual([]);
  });

  it("lets a /new the host carried out archive unanswered messages, and exempts archived sessions from not_wedged", () => {
    const h = clean();
    h.sends = h.sends.filter((s) => !s.text.includes("m:c1-2"));
    h.inbound.push(inbound(5, "/new", 950));
    h.transcripts.push({ sessionId: "archived:s.foreground-2026", toolCalls: [], toolResults: [], unfinishedTurn: true });
    // Not carried out (no answer to it yet): the message is still owed.
    expect(names(h)).toEqual(["answered"]);
    h.sends.push(send(9, "Started a fresh session. The workspace files stay; the old conversation history is archived.", 1000));
    expect(names(h)).toEqual([]);
    expect([...abandonedByNew(h, C)]).toEqual(["m:c1-2"]);
    // A message sent after the /new is owed an answer.
    h.inbound.push(inbound(6, "after [m:c1-3]", 1100));
    expect(names(h)).toEqual(["answered"]);
  });

  describe("cron slots", () => {
    const DUE = "1970-01-01T00:00:01.000Z"; // at = 1000 ms, on the histories' clock
    const SLOT = `cron_0001@${DUE}`;
    const taskMessage = `[Scheduled task 'tick' (cron_0001), due ${DUE} (UTC). Your answer is sent to the user.]\n\nTick.`;
    const withCron = (): History => {
      const h = clean();
      h.transcripts.push({ sessionId: "s.bg1", toolCalls: [], toolResults: [], unfinishedTurn: false, cronSlots: [SLOT] });
      h.sends.push(send(8, `Cron run cron-run:${SLOT} done.`, 1200));
      return h;
    };

    it("reads the slot of the host's task message", () => {
      expect(cronSlotsIn(`${taskMessage} and more`)).toEqual([SLOT]);
    });

    it("accepts a slot run once and answered once (a labelled re-send too)", () => {
      const h = withCron();
      h.sends.push(send(9, `♻️ (possible duplicate) Cron run cron-run:${SLOT} done.`, 1300));
      expect(checkHistory(h)).toEqual([]);
    });

    it("finds a slot run twice (its message stored twice) and a slot answered twice unlabelled", () => {
      const h = withCron();
      h.transcripts.push({ sessionId: "s.bg2", toolCalls: [], toolResults: [], unfinishedTurn: false, cronSlots: [SLOT] });
      h.sends.push(send(9, `Cron run cron-run:${SLOT} done.`, 1300));
      expect(checkHistory(h).map((v) => v.message)).toEqual([
        `cron slot ${SLOT} was run 2 times (sessions: s.bg1, s.bg2)`,
        `cron slot ${SLOT} answered 2 times without the "(possible duplicate)" label (#8, #9)`,
      ]);
    });

    it("finds a slot run but neither answered nor reported; a /continue offer after it was due reports it", () => {
      const h = withCron();
      h.sends = h.sends.filter((s) => s.messageId !== 8 && !s.text.includes("Send /continue"));
      expect(checkHistory(h).map((v) => v.message)).toEqual([`cron slot ${SLOT} was run but neither answered nor reported`]);
      h.sends.push(send(10, "⚠️ The last turn was interrupted (the worker stopped unexpectedly). Send /continue to resume it.", 1100));
      expect(checkHistory(h)).toEqual([]);
    });
  });
});
