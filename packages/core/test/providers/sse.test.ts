import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "../../src/providers/chat-completions/sse.js";

function parseInPieces(text: string, size: number): SseEvent[] {
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(text);
  const events: SseEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) events.push(...parser.push(bytes.slice(i, i + size)));
  return [...events, ...parser.end()];
}

describe("SseParser", () => {
  const stream = ': OPENROUTER PROCESSING\r\n\r\ndata: {"a":1}\r\n\r\nevent: error\ndata: line one\ndata: line two\n\ndata:no-space\r\rdata: é ü\n\ndata: [DONE]\n\n';
  const expected: SseEvent[] = [
    { event: "message", data: '{"a":1}' },
    { event: "error", data: "line one\nline two" },
    { event: "message", data: "no-space" },
    { event: "message", data: "é ü" },
    { event: "message", data: "[DONE]" },
  ];

  it("handles comments, CRLF, CR, multi-line data and event names", () => {
    expect(parseInPieces(stream, 10_000)).toEqual(expected);
  });

  it("gives the same events whatever the chunk boundaries (split CRLF, split UTF-8)", () => {
    for (const size of [1, 2, 3, 5, 7, 13]) expect(parseInPieces(stream, size)).toEqual(expected);
  });

  it("flushes a final event without a trailing blank line", () => {
    expect(parseInPieces('data: {"last":true}', 4)).toEqual([{ event: "message", data: '{"last":true}' }]);
  });
});
