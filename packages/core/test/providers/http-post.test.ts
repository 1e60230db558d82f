// postJson over a real node:http server: kept-alive connections are reused, and a request that meets
// a connection the server closed (reset before any answer) is sent again on a new connection.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { postJson } from "../../src/providers/http-post.js";

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
});

/** A JSON echo server; `resetOnRequest(n)` resets the connection of the n-th request instead of answering. */
async function echoServer(resetOnRequest: (n: number) => boolean): Promise<{ url: URL; connections: () => number }> {
  let connections = 0;
  let requests = 0;
  server = createServer((req, res) => {
    const n = ++requests;
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (resetOnRequest(n)) return (req.socket as Socket).resetAndDestroy();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ n, body: JSON.parse(body) as unknown }));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat`), connections: () => connections };
}

async function call(url: URL, payload: unknown): Promise<{ status: number; json: unknown }> {
  const res = await postJson(url, { "content-type": "application/json" }, Buffer.from(JSON.stringify(payload)), new AbortController().signal);
  let text = "";
  for await (const chunk of res.message) text += (chunk as Buffer).toString();
  return { status: res.status, json: JSON.parse(text) };
}

describe("postJson", () => {
  it("reuses one kept-alive connection for calls one after another", async () => {
    const { url, connections } = await echoServer(() => false);
    for (let i = 1; i <= 5; i++) expect(await call(url, { i })).toEqual({ status: 200, json: { n: i, body: { i } } });
    expect(connections()).toBe(1);
  });

  it("a call that meets a connection reset before any answer is sent once more on a new connection", async () => {
    const { url, connections } = await echoServer((n) => n === 2);
    expect((await call(url, { i: 1 })).json).toEqual({ n: 1, body: { i: 1 } });
    // The 2nd request goes out on the kept-alive connection and is reset; the 3rd is its repeat.
    expect(await call(url, { i: 2 })).toEqual({ status: 200, json: { n: 3, body: { i: 2 } } });
    expect(connections()).toBe(2);
  });

  it("a reset on a new connection is not repeated: the caller sees the error", async () => {
    const { url } = await echoServer(() => true);
    await expect(call(url, { i: 1 })).rejects.toMatchObject({ code: "ECONNRESET" });
  });
});
