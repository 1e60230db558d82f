import { PassThrough } from "node:stream";
import type { Message } from "vscode-jsonrpc/node.js";
import { describe, expect, it } from "vitest";
import { FrameReader } from "../src/frame-reader.js";

const frame = (m: unknown): Buffer => {
  const body = Buffer.from(JSON.stringify(m), "utf8");
  return Buffer.concat([Buffer.from(`Content-Length: ${body.byteLength}\r\n\r\n`, "ascii"), body]);
};
const messages = [
  { jsonrpc: "2.0", id: 1, result: { ok: true } },
  { jsonrpc: "2.0", method: "session/event", params: { seq: 1, text: "naïve ☃ 𝄞" } },
  { jsonrpc: "2.0", id: 2, result: {} },
];

function listen(stream: PassThrough): { got: Message[]; errors: string[]; reader: FrameReader } {
  const reader = new FrameReader(stream);
  const got: Message[] = [];
  const errors: string[] = [];
  reader.onError((err) => errors.push(err.message));
  reader.listen((m) => got.push(m));
  return { got, errors, reader };
}

describe("FrameReader", () => {
  it("delivers every frame in the data event that completes it, however the bytes are split", () => {
    const all = Buffer.concat(messages.map(frame));
    for (const size of [1, 3, 7, 64, all.byteLength]) {
      const stream = new PassThrough();
      const { got, reader } = listen(stream);
      // PassThrough emits 'data' synchronously on write while flowing, so delivery is checked right after each write.
      for (let at = 0; at < all.byteLength; at += size) stream.write(all.subarray(at, at + size));
      expect(got).toEqual(messages);
      expect(reader.framesRead).toBe(3);
    }
  });

  it("a bad frame is reported and the next one still arrives", () => {
    const stream = new PassThrough();
    const { got, errors } = listen(stream);
    stream.write(Buffer.concat([Buffer.from("X-Nothing: 1\r\n\r\n"), Buffer.from("Content-Length: 5\r\n\r\n{bad}"), frame(messages[0])]));
    expect(got).toEqual([messages[0]]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/no Content-Length/);
    expect(errors[1]).toMatch(/not JSON/);
  });

  it("tells the connection when the stream closes", async () => {
    const stream = new PassThrough();
    const reader = new FrameReader(stream);
    const closed = new Promise<void>((resolve) => reader.onClose(() => resolve()));
    reader.listen(() => undefined);
    stream.destroy();
    await closed;
  });
});
