// readReply decodes a model reply's bytes as UTF-8 across chunk boundaries: a character split between
// two chunks (as TCP may deliver it) arrives whole, in SSE and in JSON replies.
import { describe, expect, it } from "vitest";
import type { SseEvent } from "../../src/providers/chat-completions/sse.js";
import type { HttpExchange } from "../../src/providers/http.js";
import type { HttpResponse } from "../../src/providers/http-post.js";
import { readReply } from "../../src/providers/reply-reader.js";

/** The byte source of an exchange: `text` as UTF-8, cut every `size` bytes (the rest of HttpExchange is not used by readReply). */
function bytesIn(text: string, size: number): HttpExchange {
  const bytes = Buffer.from(text, "utf8");
  return {
    idleTimeoutMs: 60_000,
    async *chunks() {
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    },
  } as unknown as HttpExchange;
}

const response = (contentType: string): HttpResponse => ({
  status: 200,
  ok: true,
  headers: { get: (name) => (name === "content-type" ? contentType : null) },
});

async function read(text: string, size: number, contentType: string): Promise<{ events: SseEvent[]; json: unknown[] }> {
  const events: SseEvent[] = [];
  const json: unknown[] = [];
  await readReply(bytesIn(text, size), response(contentType), {
    event: (e) => (events.push(e), e.data === "[DONE]"),
    json: (v) => void json.push(v),
  });
  return { events, json };
}

describe("readReply", () => {
  const sizes = [1, 2, 3, 5, 7, 13, 10_000];

  it("SSE events keep multi-byte characters split across chunks", async () => {
    const stream = 'data: {"t":"é ü 🌍 日本"}\n\ndata: [DONE]\n\n';
    for (const size of sizes) {
      const { events } = await read(stream, size, "text/event-stream");
      expect(events.map((e) => e.data), `chunks of ${size} bytes`).toEqual(['{"t":"é ü 🌍 日本"}', "[DONE]"]);
    }
  });

  it("a JSON reply keeps multi-byte characters split across chunks, with or without a content type", async () => {
    const body = JSON.stringify({ choices: [{ message: { content: "ünïcode 🌍 text" } }] });
    for (const size of sizes) {
      for (const type of ["application/json", ""]) {
        const { json } = await read(body, size, type);
        expect(json, `chunks of ${size} bytes, content type "${type}"`).toEqual([JSON.parse(body)]);
      }
    }
  });
});
