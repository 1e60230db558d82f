import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BotApi } from "../../src/channels/telegram/bot-api.js";
import { NO_SEND_LIMITS, SendBudget } from "../../src/channels/telegram/send-budget.js";

// Scope: BotApi's JSON calls over real HTTP against a minimal Bot API server that counts TCP
// connections and can close a kept-alive one the way a server's keep-alive timeout does (the
// network edge; the fake Bot API does not expose its connections).

interface EdgeServer {
  apiRoot: string;
  connections: () => number;
  /** Method names in arrival order (what the server read). */
  received: string[];
  /** The `text` of each sendMessage read. */
  texts: string[];
  /** The next request that arrives on an already used connection is dropped unread (the socket closed). */
  dropNextReused: () => void;
  close: () => Promise<void>;
}

async function startEdgeServer(): Promise<EdgeServer> {
  const used = new WeakSet<Socket>();
  let connections = 0;
  let dropReused = false;
  const received: string[] = [];
  const texts: string[] = [];
  const server: Server = createServer((req, res) => {
    const socket = req.socket;
    if (dropReused && used.has(socket)) {
      dropReused = false;
      socket.destroy();
      return;
    }
    used.add(socket);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = req.url!.split("/").pop()!;
      received.push(method);
      const params = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      if (method === "sendMessage") texts.push(String(params["text"]));
      const result = method === "sendMessage" ? { message_id: received.length, date: 0, chat: { id: params["chat_id"], type: "private" }, text: params["text"] } : true;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, result }));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    received,
    texts,
    dropNextReused: () => (dropReused = true),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let edge: EdgeServer | undefined;
let api: BotApi | undefined;
afterEach(async () => {
  api?.close();
  await edge?.close();
  edge = api = undefined;
});

function botApi(apiRoot: string): BotApi {
  return new BotApi("123:secret", apiRoot, pino({ level: "silent" }), { baseDelayMs: 10, maxDelayMs: 50 }, new SendBudget(NO_SEND_LIMITS));
}

/** One send opens the connection; the server then closes it as the next request arrives on it. */
async function keptAliveConnectionAboutToClose(): Promise<{ edge: EdgeServer; api: BotApi }> {
  edge = await startEdgeServer();
  api = botApi(edge.apiRoot);
  await api.call("sendMessage", { chat_id: 7, text: "first" });
  edge.dropNextReused();
  return { edge, api };
}

describe("BotApi over kept-alive connections", () => {
  it("makes consecutive calls over one TCP connection (http api root)", async () => {
    edge = await startEdgeServer();
    api = botApi(edge.apiRoot);
    for (let i = 0; i < 10; i++) await api.call("sendMessage", { chat_id: 7, text: `m${i}` });
    await api.call("sendChatAction", { chat_id: 7, action: "typing" });
    expect(edge.received).toHaveLength(11);
    expect(edge.connections()).toBe(1);
  });

  it("retries an idempotent call at once on a fresh connection when the kept-alive one was closed under it", async () => {
    const { edge, api } = await keptAliveConnectionAboutToClose();
    // One attempt only: the stale socket is not counted as a failed attempt.
    await expect(api.call("editMessageText", { chat_id: 7, message_id: 1, text: "edited" }, { maxAttempts: 1 })).resolves.toBe(true);
    expect(edge.received).toEqual(["sendMessage", "editMessageText"]);
    expect(edge.connections()).toBe(2);
  });

  it("does not repeat a send silently on a closed kept-alive connection: the retry carries the duplicate label", async () => {
    const { edge, api } = await keptAliveConnectionAboutToClose();
    const labelled = (payload: { text: string }) => ({ ...payload, text: `(possible duplicate) ${payload.text}` });
    await api.call("sendMessage", { chat_id: 7, text: "second" }, { afterUnknownOutcome: labelled as never });
    expect(edge.texts).toEqual(["first", "(possible duplicate) second"]);
    await expect(api.call("sendMessage", { chat_id: 7, text: "third" }, { maxAttempts: 1 })).resolves.toMatchObject({ text: "third" });
  });

  it("gives up an answer whose body stops arriving after the request timeout, and retries the send labelled", async () => {
    const texts: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = String((JSON.parse(Buffer.concat(chunks).toString()) as { text: string }).text);
        texts.push(text);
        res.writeHead(200, { "content-type": "application/json" });
        const answer = JSON.stringify({ ok: true, result: { message_id: texts.length, date: 0, chat: { id: 7, type: "private" }, text } });
        if (texts.length === 1) res.write(answer.slice(0, 10)); // the rest never comes
        else res.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    edge = { apiRoot: "", connections: () => 0, received: [], texts, dropNextReused: () => undefined, close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())) };
    api = new BotApi("123:secret", `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pino({ level: "silent" }), { baseDelayMs: 10, maxDelayMs: 50 }, new SendBudget(NO_SEND_LIMITS), { requestTimeoutMs: 2000 });
    const labelled = (payload: { text: string }) => ({ ...payload, text: `(possible duplicate) ${payload.text}` });
    await expect(api.call("sendMessage", { chat_id: 7, text: "hello" }, { afterUnknownOutcome: labelled as never })).resolves.toMatchObject({ text: "(possible duplicate) hello" });
    // Every attempt after the cut one is labelled (a very slow machine may time out one more).
    expect(texts[0]).toBe("hello");
    expect(texts.slice(1).length).toBeGreaterThan(0);
    expect(texts.slice(1).every((t) => t === "(possible duplicate) hello")).toBe(true);
  });
});
