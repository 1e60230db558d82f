import { PassThrough, Writable } from "node:stream";
import { StreamMessageReader, StreamMessageWriter, type Message } from "vscode-jsonrpc/node.js";
import { describe, expect, it } from "vitest";
import { FrameWriter } from "../src/frame-writer.js";

const messages: Message[] = [
  { jsonrpc: "2.0", id: 1, method: "session/query", params: { view: "live_state" } } as Message,
  { jsonrpc: "2.0", method: "session/event", params: { seq: 7, text: "naïve ☃ 𝄞 — multi-byte" } } as Message,
  { jsonrpc: "2.0", id: 2, result: null } as Message,
];

/** Every byte written, and how many write/writev calls reached the stream. */
function sink(): { stream: Writable; bytes: () => Buffer; calls: () => number[] } {
  const chunks: Buffer[] = [];
  const calls: number[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push(1);
      chunks.push(chunk);
      cb();
    },
    writev(entries, cb) {
      calls.push(entries.length);
      for (const e of entries) chunks.push(e.chunk as Buffer);
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), calls: () => calls };
}

describe("FrameWriter", () => {
  it("writes the same bytes as vscode-jsonrpc's StreamMessageWriter", async () => {
    const ours = sink();
    const theirs = sink();
    const a = new FrameWriter(ours.stream);
    const b = new StreamMessageWriter(theirs.stream);
    for (const m of messages) {
      await a.write(m);
      await b.write(m);
    }
    expect(ours.bytes().equals(theirs.bytes())).toBe(true);
  });

  it("sends the frames of one tick in one writev, and a reader gets every message in order", async () => {
    const out = sink();
    const writer = new FrameWriter(out.stream);
    await Promise.all(messages.map((m) => writer.write(m)));
    // One frame per message, all in a single call to the stream (StreamMessageWriter: two writes per message, one at a time).
    expect(out.calls()).toEqual([messages.length]);

    const pipe = new PassThrough();
    const reader = new StreamMessageReader(pipe);
    const got: Message[] = [];
    reader.listen((m) => got.push(m));
    pipe.write(out.bytes());
    while (got.length < messages.length) await new Promise((r) => setImmediate(r));
    expect(got).toEqual(messages);
    reader.dispose();
  });

  it("reports a write after the stream ended without rejecting it (vscode-jsonrpc cannot catch that)", async () => {
    const out = sink();
    const writer = new FrameWriter(out.stream);
    const errors: string[] = [];
    writer.onError(([err]) => errors.push(err.message));
    writer.end();
    await expect(writer.write(messages[0]!)).resolves.toBeUndefined();
    expect(errors).toEqual(["the stream is closed"]);
  });
});
