#!/usr/bin/env node
// A worker that keeps nothing and thinks nothing: the floor of "a host plus a process per conversation".
// It speaks the worker protocol a plain turn uses (initialize, session/enqueue with ackUpTo, session/ackEvents,
// session/query live_state, shutdown) and answers each message with turn_started and turn_completed, but
// stores nothing and runs no session machine: per turn one keep-alive POST of the user's message to the model
// URL from `initialize` (node:http, as the worker's providers), the answer's text taken from the reply. With
// NULL_WORKER_MODEL=0 it calls no model and makes the answer up (the host passes workers only allowlisted
// variables: set it in a wrapper script named as the worker). Its framing is a few lines on purpose, not the
// protocol's vscode-jsonrpc FrameReader/FrameWriter: their cost belongs to the real worker, not to this floor.
// Not a worker: never durable, for measurements only (`pnpm bench` Part B's "host + null workers" rows;
// probe-throughput.ts PROBE_WORKER).
import { request, Agent } from "node:http";

const callModel = process.env.NULL_WORKER_MODEL !== "0";
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let model = null;
let seq = 0;
let acked = 0;
let nextTurn = 1;
let busy = false;
const queue = [];

function send(frame) {
  const body = Buffer.from(JSON.stringify(frame));
  process.stdout.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, "ascii"), body]));
}
const event = (e) => send({ jsonrpc: "2.0", method: "session/event", params: { seq: ++seq, event: e } });
const answer = (id, result) => send({ jsonrpc: "2.0", id, result });

function ask(message) {
  const text = message.content.map((c) => c.text ?? "").join(" ");
  if (!callModel) return Promise.resolve(`re: ${text.split(" ").pop()}`);
  // A kept-alive socket the server closed meanwhile fails once: asked again on a new one, as the worker does.
  return post(text).catch(() => post(text));
}

function post(text) {
  const payload = JSON.stringify({ model: model.model_name, messages: [{ role: "user", content: text }] });
  return new Promise((resolve, reject) => {
    const req = request(model.url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        resolve(body.choices?.[0]?.message?.content ?? "re: ?");
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function run() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const inputs = queue.splice(0);
    const turnId = nextTurn++;
    const messageIds = inputs.map((i) => i.messageId);
    event({ type: "turn_started", turnId, messageIds });
    for (const i of inputs) if (i.id !== undefined) answer(i.id, i.result);
    const text = await ask(inputs[inputs.length - 1].message);
    event({ type: "turn_completed", turnId, message: { role: "assistant", content: [{ type: "text", text }] }, usage: { inputTokens: 1, outputTokens: 1 }, queuedInputs: queue.length, messageIds });
  }
  busy = false;
}

function handle(msg) {
  const { id, method, params } = msg;
  if (method === "initialize") {
    model = params.model;
    return answer(id, { protocolVersion: 1, sessionId: params.sessionId, historyLength: 0, nextTurnId: nextTurn, lastEventSeq: seq, lastAckedSeq: acked, unfinishedTurn: null, queuedInputs: 0 });
  }
  if (method === "session/enqueue") {
    if (params.ackUpTo !== undefined) acked = Math.max(acked, params.ackUpTo);
    const result = { accepted: true, duplicate: false, ...(params.ackUpTo !== undefined ? { lastAckedSeq: acked } : {}) };
    // As the real worker does: a turn-starting enqueue is answered right after its turn_started.
    queue.push({ ...params, id: busy ? undefined : id, result });
    if (busy) answer(id, result);
    return void run();
  }
  if (method === "session/ackEvents") {
    acked = Math.max(acked, params.upTo);
    return answer(id, { lastAckedSeq: acked });
  }
  if (method === "session/query") {
    return answer(id, { view: "live_state", state: busy ? "callingModel" : "idle", turnId: busy ? nextTurn - 1 : null, step: 0, toolName: null, queuedInputs: queue.length, turnStartedAt: null, unfinishedTurn: null });
  }
  if (method === "shutdown") {
    answer(id, {});
    return void process.stdout.write("", () => process.exit(0));
  }
  if (id !== undefined) send({ jsonrpc: "2.0", id, error: { code: -32601, message: `${method} is not served by the null worker` } });
}

let buffered = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  for (;;) {
    const end = buffered.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffered.subarray(0, end).toString("ascii"))?.[1]);
    if (buffered.length < end + 4 + length) return;
    const body = buffered.subarray(end + 4, end + 4 + length).toString("utf8");
    buffered = buffered.subarray(end + 4 + length);
    handle(JSON.parse(body));
  }
});
process.stdin.on("end", () => process.exit(0));
