// Open `GET …/events` streams are capped per conversation and per channel (stream-slots.ts), answered
// with a JSON error naming the limit; a stream the client closes frees its slot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_EVENT_STREAMS, MAX_EVENT_STREAMS_PER_CONVERSATION } from "../../packages/host/dist/channels/web/stream-slots.js";
import { startWebE2E, type WebE2E } from "./web-fixture.js";

interface Opened {
  status: number;
  error?: { code: string; message: string };
  close: () => void;
  /**
   * Held so the stream stays open: fetch cancels the body of a Response that is garbage-collected (undici's
   * FinalizationRegistry), which closed a stream under the test's feet once (a 257th stream got a slot).
   */
  response: Response;
}

describe("web channel: open event streams", () => {
  let e2e: WebE2E;
  const opened: Opened[] = [];

  beforeAll(async () => {
    e2e = await startWebE2E(() => ({ text: "unused" }));
    await e2e.start();
  }, 60_000);
  afterAll(async () => {
    for (const s of opened) s.close();
    await e2e?.close();
  });

  const newConversation = async (): Promise<string> => (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;

  /** Opens a stream and leaves it open (unread) until `close()`, as a tab or a script would. */
  async function open(conversationId: string): Promise<Opened> {
    const controller = new AbortController();
    const res = await e2e.call(`/api/conversations/${conversationId}/events`, { signal: controller.signal });
    const s: Opened =
      res.status === 200
        ? { status: 200, close: () => controller.abort(), response: res }
        : { status: res.status, error: (await res.json()).error, close: () => undefined, response: res };
    opened.push(s);
    return s;
  }

  /** Opens a stream as soon as a slot is free (the host sees a client's close a moment later). */
  async function openOnceFree(conversationId: string, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await open(conversationId)).status !== 200) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it(`a conversation serves ${MAX_EVENT_STREAMS_PER_CONVERSATION} streams; one more is a 429 naming the limit until one is closed`, async () => {
    const conv = await newConversation();
    const mine = [];
    for (let i = 0; i < MAX_EVENT_STREAMS_PER_CONVERSATION; i++) mine.push(await open(conv));
    expect(mine.map((s) => s.status)).toEqual(mine.map(() => 200));
    const over = await open(conv);
    expect(over.status).toBe(429);
    expect(over.error?.code).toBe("too_many_streams");
    expect(over.error?.message).toContain(`${MAX_EVENT_STREAMS_PER_CONVERSATION} event streams of conversation ${conv} are open`);
    expect(over.error?.message).toContain("MAX_EVENT_STREAMS_PER_CONVERSATION");
    // Another conversation is not held back by this one's streams.
    expect((await open(await newConversation())).status).toBe(200);
    mine[0]!.close();
    await openOnceFree(conv, "a slot freed by the closed stream");
    for (const s of opened) s.close();
    // All of them freed: the conversation serves its full number again.
    for (let i = 0; i < MAX_EVENT_STREAMS_PER_CONVERSATION; i++) await openOnceFree(conv, `stream ${i + 1} after every stream was closed`);
    for (const s of opened.splice(0)) s.close();
  }, 60_000);

  it(`the channel serves ${MAX_EVENT_STREAMS} streams; one more is a 503 naming the limit, and closing them frees the slots`, async () => {
    const conversations: string[] = [];
    const full = Math.ceil(MAX_EVENT_STREAMS / MAX_EVENT_STREAMS_PER_CONVERSATION);
    for (let i = 0; i < full; i++) conversations.push(await newConversation());
    for (let i = 0; i < MAX_EVENT_STREAMS; i++) await openOnceFree(conversations[i % full]!, `stream ${i + 1}`);
    const extra = await newConversation();
    const over = await open(extra);
    expect(over.status).toBe(503);
    expect(over.error?.code).toBe("too_many_streams");
    expect(over.error?.message).toContain(`${MAX_EVENT_STREAMS} event streams are open on this channel`);
    expect(over.error?.message).toContain("MAX_EVENT_STREAMS");
    for (const s of opened.splice(0)) s.close();
    await openOnceFree(extra, "a stream once the others were closed");
    // The host still answers the API as usual.
    expect((await e2e.json("/api/health")).ok).toBe(true);
  }, 120_000);
});
