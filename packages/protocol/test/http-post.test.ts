// postOverKeepAlive against a real node:http server: a cut request ends with the caller's error and its
// connection is closed, and a request that may not be repeated gets the original error of a stale socket.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { keepAliveClient, postOverKeepAlive } from "../src/http-post.js";

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<URL> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/call`);
}

const body = Buffer.from("{}");
const headers = { "content-type": "application/json" };

describe("postOverKeepAlive", () => {
  it("a signal cuts a request waiting for headers with the caller's error, and the server sees the connection close", async () => {
    let closed = false;
    const url = await listen(() => undefined);
    // Watched from the accepted connection, not from the request: under load the abort can come before
    // the server has parsed the request (then a listener added in the request handler never fires).
    server!.on("connection", (socket: Socket) => socket.on("close", () => (closed = true)));
    const client = await keepAliveClient("http:");
    const controller = new AbortController();
    const pending = postOverKeepAlive(client, url, { headers, body, signal: controller.signal, abortError: () => new Error("stopped by the caller"), repeatOnStaleSocket: true });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toThrow("stopped by the caller");
    await expect.poll(() => closed, { timeout: 30_000 }).toBe(true);
  });

  it("a signal cuts a body still arriving: the response errors instead of hanging", async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    });
    const client = await keepAliveClient("http:");
    const controller = new AbortController();
    const { response } = await postOverKeepAlive(client, url, { headers, body, signal: controller.signal, repeatOnStaleSocket: true });
    const ended = new Promise<string>((resolve) => {
      response.on("error", () => resolve("error"));
      response.on("end", () => resolve("end"));
    });
    response.resume();
    controller.abort(new Error("stop"));
    expect(await ended).toBe("error");
  });

  it("timeoutMs cuts an exchange whose body stops arriving with timeoutError", async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    });
    const client = await keepAliveClient("http:");
    // On a loaded machine the limit may pass before the headers arrive: either way the exchange is cut,
    // never ended (the body never ends).
    const outcome = await postOverKeepAlive(client, url, { headers, body, repeatOnStaleSocket: true, timeoutMs: 300, timeoutError: () => new Error("too slow") }).then(
      ({ response }) =>
        new Promise<string>((resolve) => {
          response.on("error", () => resolve("cut"));
          response.on("end", () => resolve("ended"));
          response.resume();
        }),
      (err: Error) => (err.message === "too slow" ? "cut" : err.message),
    );
    expect(outcome).toBe("cut");
  });

  it("timeoutMs cuts a request still waiting for headers with timeoutError", async () => {
    const url = await listen(() => undefined);
    const client = await keepAliveClient("http:");
    await expect(postOverKeepAlive(client, url, { headers, body, repeatOnStaleSocket: true, timeoutMs: 300, timeoutError: () => new Error("too slow") })).rejects.toThrow("too slow");
  });

  it("without repeatOnStaleSocket a stale kept-alive connection gives the original error and nothing is sent again", async () => {
    let requests = 0;
    const url = await listen((req, res) => {
      const n = ++requests;
      req.resume();
      req.on("end", () => (n === 2 ? (req.socket as Socket).resetAndDestroy() : res.end("{}")));
    });
    const client = await keepAliveClient("http:");
    const first = await postOverKeepAlive(client, url, { headers, body, repeatOnStaleSocket: false });
    first.response.resume();
    await new Promise((r) => first.response.on("end", r));
    await expect(postOverKeepAlive(client, url, { headers, body, repeatOnStaleSocket: false })).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(requests).toBe(2);
    client.agent.destroy();
  });
});
