import { describe, expect, it } from "vitest";
import { InboundLimits, quoteOf, refusalNotice } from "../../src/conversations/inbound-limits.js";

const text = (t: string) => ({ role: "user" as const, content: [{ type: "text" as const, text: t }] });

describe("inbound limits", () => {
  it("refuses a chat's message over its per-minute rate, saying when to send again; other chats are not affected", () => {
    let now = 1_000_000;
    const limits = new InboundLimits({ perChatMessagesPerMinute: 3, maxQueuedTurns: 100 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limits.check("tg:1", 0)).toBeNull();
      limits.record("tg:1");
      now += 10_000;
    }
    // 30 s after the first: it leaves the window 30 s from now.
    expect(limits.check("tg:1", 0)).toEqual({ kind: "chat_rate", limit: 3, retryAfterSeconds: 30 });
    expect(limits.check("tg:2", 0)).toBeNull();
    now += 30_001;
    expect(limits.check("tg:1", 0)).toBeNull();
  });

  it("refused messages do not count: a chat that stops flooding gets through after a minute", () => {
    let now = 0;
    const limits = new InboundLimits({ perChatMessagesPerMinute: 1, maxQueuedTurns: 100 }, () => now);
    limits.record("c");
    for (let i = 0; i < 50; i++) expect(limits.check("c", 0)?.kind).toBe("chat_rate");
    now = 60_001;
    expect(limits.check("c", 0)).toBeNull();
  });

  it("refuses every chat while the global queue is full", () => {
    const limits = new InboundLimits({ perChatMessagesPerMinute: 10, maxQueuedTurns: 5 });
    expect(limits.check("a", 4)).toBeNull();
    expect(limits.check("a", 5)).toEqual({ kind: "queue_full", queued: 5, limit: 5 });
  });

  it("notices quote the refused messages (cut) and say why", () => {
    const rate = refusalNotice({ kind: "chat_rate", limit: 20, retryAfterSeconds: 42 }, [quoteOf(text("please summarise   this very long message about the quarterly report"))]);
    expect(rate).toBe(
      '⏳ Not passed on to the agent: "please summarise this very long message…". This chat sent 20 messages in the last minute, the most it may send. Send it again in 42 s.',
    );
    const several = refusalNotice({ kind: "chat_rate", limit: 20, retryAfterSeconds: 5 }, ['"a"', '"b"'], 3);
    expect(several).toMatch(/^⏳ Not passed on to the agent: "a", "b" and 3 more\. .* Send them again in 5 s\.$/);
    const busy = refusalNotice({ kind: "queue_full", queued: 200, limit: 200 }, [quoteOf({ role: "user", content: [{ type: "file", uri: "file:///w/a.png" }] })]);
    expect(busy).toMatch(/^⏳ Not passed on to the agent: your file\. The server is busy: 200 messages from all chats are already waiting/);
  });
});
