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

  it("a frame over the body limit is skipped, however the bytes are split, and the frames around it arrive", () => {
    const big = frame({ jsonrpc: "2.0", method: "big", params: { s: "z".repeat(500) } });
    const all = Buffer.concat([frame(messages[0]), big, frame(messages[1]), frame(messages[2])]);
    for (const size of [1, 7, 100, all.byteLength]) {
      const stream = new PassThrough();
      const reader = new FrameReader(stream, 200);
      const got: Message[] = [];
      const errors: string[] = [];
      reader.onError((err) => errors.push(err.message));
      reader.listen((m) => got.push(m));
      for (let at = 0; at < all.byteLength; at += size) stream.write(all.subarray(at, at + size));
      expect(got).toEqual(messages);
      expect(errors).toEqual([expect.stringMatching(/^skipped a frame of \d+ bytes: over the limit of 200 bytes/)]);
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

  it("finds the next frame after a wrong Content-Length, a body without header, or a long run of stray bytes", () => {
    const stream = new PassThrough();
    const { got, errors } = listen(stream);
    const body = JSON.stringify(messages[1]);
    // Characters counted instead of bytes: too short, the tail runs into the next header.
    stream.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n${body}`), frame(messages[0])]));
    // A header without Content-Length: its body runs into the next header.
    stream.write(Buffer.concat([Buffer.from(`Content-Type: x\r\n\r\n${body}`), frame(messages[2])]));
    // 200 kB without an end of header, then a frame: kept bounded, and the frame still arrives.
    for (let i = 0; i < 20; i++) stream.write(Buffer.alloc(10_000, "z"));
    stream.write(frame(messages[1]));
    expect(got).toEqual([messages[0], messages[2], messages[1]]);
    expect(errors.some((e) => /skipped \d+ bytes before a frame header/.test(e))).toBe(true);
    expect(errors.some((e) => /not a frame header/.test(e))).toBe(true);
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
