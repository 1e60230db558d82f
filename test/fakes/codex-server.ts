// A fake ChatGPT-subscription Codex backend on 127.0.0.1 for tests: a real `ws` WebSocketServer speaking
// the reference's event stream (reference §1.5: response.created, output_item.done, output_text.delta,
// response.completed / response.failed / error), a 401 at the handshake for a token it does not accept,
// and a server ping in each stream (the client must answer it).
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

export interface CodexReply {
  text?: string;
  functionCalls?: Array<{ name: string; arguments: Record<string, unknown>; callId?: string }>;
  /** A reasoning item with opaque encrypted content (sent before the answer). */
  reasoning?: { encrypted: string; summary?: string[] };
  usage?: { input_tokens: number; output_tokens: number };
  /** End with a failure instead of response.completed: `error` event with a numeric status, or `response.failed`. */
  failWith?: { status?: number; message: string; event?: "error" | "response.failed" };
  /** Send the first delta, then close the socket (code 1011) without completing. */
  closeEarly?: boolean;
  /** Send response.created and one delta, then go silent (cancel and timeout tests). */
  stall?: boolean;
}

export interface CodexRequest {
  index: number;
  headers: IncomingHttpHeaders;
  /** The parsed `response.create` frame. */
  frame: Record<string, unknown>;
}

export type TokenFilter = string[] | ((token: string) => boolean) | undefined;

export type CodexResponder = (request: CodexRequest) => CodexReply;

export interface FakeCodex {
  /** `http://127.0.0.1:<port>/backend-api/codex/responses` (the client turns it into ws://). */
  url: string;
  requests: CodexRequest[];
  /** Headers of every handshake, accepted or refused. */
  handshakes: IncomingHttpHeaders[];
  /** Handshakes refused with 401. */
  refused: number;
  /** Pongs received (answers to the server's pings). */
  pongs: number;
  /** Sockets the client closed or that dropped (server side saw `close`). */
  closed: number;
  /** Sockets currently open. */
  open(): number;
  /** Tokens accepted from now on: a list or a test (undefined: any). */
  acceptTokens(tokens: TokenFilter): void;
  close(): Promise<void>;
}

export async function startFakeCodex(opts: { responder: CodexResponder; acceptTokens?: TokenFilter }): Promise<FakeCodex> {
  let accepted = opts.acceptTokens;
  const requests: CodexRequest[] = [];
  const handshakes: IncomingHttpHeaders[] = [];
  const sockets = new Set<WebSocket>();
  const state = { refused: 0, pongs: 0, closed: 0 };
  const http = createServer((_req, res) => res.writeHead(426).end("websocket only"));
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    handshakes.push(req.headers);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const ok = !accepted ? true : typeof accepted === "function" ? accepted(token ?? "") : accepted.includes(token ?? "");
    if (!token || !ok) {
      state.refused++;
      const body = JSON.stringify({ error: { message: "Your authentication token has expired. Please try signing in again.", code: "token_expired" } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req.headers));
  });

  function serve(ws: WebSocket, headers: IncomingHttpHeaders): void {
    sockets.add(ws);
    ws.on("pong", () => state.pongs++);
    ws.on("close", () => {
      sockets.delete(ws);
      state.closed++;
    });
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      if (frame.type !== "response.create") return void ws.send(JSON.stringify({ type: "error", message: `unexpected frame ${String(frame.type)}` }));
      const request: CodexRequest = { index: requests.length, headers, frame };
      requests.push(request);
      stream(ws, opts.responder(request), request.index);
    });
  }

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/backend-api/codex/responses`,
    requests,
    handshakes,
    get refused() {
      return state.refused;
    },
    get pongs() {
      return state.pongs;
    },
    get closed() {
      return state.closed;
    },
    open: () => sockets.size,
    acceptTokens(tokens) {
      accepted = tokens;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function stream(ws: WebSocket, reply: CodexReply, index: number): void {
  const send = (event: Record<string, unknown>): void => ws.send(JSON.stringify(event));
  const id = `resp_${index}`;
  send({ type: "response.created", response: { id, status: "in_progress", output: [] } });
  ws.ping();
  let at = 0;
  if (reply.reasoning) {
    const summary = (reply.reasoning.summary ?? []).map((text) => ({ type: "summary_text", text }));
    send({ type: "response.output_item.done", output_index: at++, item: { type: "reasoning", id: `rs_${index}`, summary, encrypted_content: reply.reasoning.encrypted } });
  }
  const text = reply.text ?? "";
  if (text || reply.closeEarly || reply.stall) {
    const messageIndex = at++;
    const itemId = `msg_${index}`;
    send({ type: "response.output_item.added", output_index: messageIndex, item: { type: "message", id: itemId, role: "assistant", content: [] } });
    const chunks = text.match(/.{1,6}/gs) ?? ["…"];
    for (const [i, delta] of chunks.entries()) {
      send({ type: "response.output_text.delta", output_index: messageIndex, item_id: itemId, delta });
      if (i === 0 && reply.closeEarly) return void ws.close(1011, "upstream went away");
      if (i === 0 && reply.stall) return;
    }
    send({ type: "response.output_item.done", output_index: messageIndex, item: { type: "message", id: itemId, role: "assistant", content: [{ type: "output_text", text }] } });
  }
  for (const [i, call] of (reply.functionCalls ?? []).entries()) {
    send({
      type: "response.output_item.done",
      output_index: at++,
      item: { type: "function_call", id: `fc_${index}_${i}`, call_id: call.callId ?? `call_${index}_${i}`, name: call.name, arguments: JSON.stringify(call.arguments) },
    });
  }
  if (reply.failWith) {
    const { status, message, event } = reply.failWith;
    if (event === "response.failed") send({ type: "response.failed", response: { id, status: "failed", error: { code: "server_error", message } } });
    else send({ type: "error", ...(status !== undefined ? { status } : {}), error: { type: "invalid_request_error", message } });
    return;
  }
  const usage = reply.usage ?? { input_tokens: 12, output_tokens: 4 };
  // The subscription backend's response.completed carries no output: the streamed items are the answer.
  send({ type: "response.completed", response: { id, status: "completed", output: [], usage: { ...usage, input_tokens_details: { cached_tokens: 0 } } } });
}
