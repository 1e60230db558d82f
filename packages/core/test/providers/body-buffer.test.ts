// Model request bodies are written into one buffer the process keeps (body-buffer.ts). A body node:http is
// still sending must never be overwritten by the next one: a server may answer before it read the request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, signal } from "./helpers.js";

const SIZE = 12 * 1024 * 1024;
const sse = (delta: string, finish: string | null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: delta }, finish_reason: finish }] })}\n\n`;
const STARTED = sse("o", null);
const FINISHED = `${sse("k", "stop")}data: [DONE]\n\n`;

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
    req.resume();
  });
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe("request bodies from the kept buffer", () => {
  it("a body still being sent is not overwritten by the next call's", async () => {
    // The server starts each reply at once but reads the first request's body only after the second one
    // arrived in full: the first body (12 MB: more than the sockets hold, less than the kept buffer's
    // limit) is still being written while its reply streams and the second call is made.
    const bodies: string[] = [];
    let held: { req: IncomingMessage; res: ServerResponse } | undefined;
    server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(STARTED);
      if (!held) return void (held = { req, res });
      void read(req).then(async (second) => {
        bodies.push(await read(held!.req), second);
        held!.res.end(FINISHED);
        res.end(FINISHED);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    const provider = createProvider(createModelConfig(url), ENV);
    const big = (letter: string) => letter.repeat(SIZE);

    let streaming: () => void = () => undefined;
    const firstStreams = new Promise<void>((resolve) => (streaming = resolve));
    const a = provider.complete(createRequest(undefined, { system: big("a") }), { signal: signal(), onDelta: () => streaming() });
    await firstStreams;
    const b = provider.complete(createRequest(undefined, { system: big("b") }), { signal: signal() });
    expect((await Promise.all([a, b])).map((r) => r.content)).toEqual([[{ type: "text", text: "ok" }], [{ type: "text", text: "ok" }]]);

    const systems = bodies.map((body) => (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]!.content);
    expect(systems.map((s) => s.length)).toEqual([SIZE, SIZE]);
    expect(systems[0] === big("a")).toBe(true);
    expect(systems[1] === big("b")).toBe(true);
  });
});
