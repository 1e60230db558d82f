// Real turns, run once while the worker's start-up snapshot is built (snapshot-warmup.ts), never in a
// running worker. V8 keeps the bytecode of every function that ran before the heap was serialised, so
// a worker started from the blob does not compile the turn path (journal, session machine, request
// mapping, SSE parsing, JSON-RPC framing) lazily on its first turn. What a snapshot cannot hold is
// replaced at the edges only: the journal is an in-memory `memory-level` database (same abstract-level
// code as LevelDB's, no native addon), the model's HTTP exchange answers from canned bytes (node:http
// cannot be loaded while the snapshot is built), and JSON-RPC frames go to in-memory streams.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import type { ClientRequest, IncomingMessage } from "node:http";
import { MemoryLevel } from "memory-level";
import { createMessageConnection } from "vscode-jsonrpc/node.js";
import { createProvider, NodeResponse, Session, SessionStore, type PostJson } from "@starling/core";
import { AckEventsParams, EnqueueParams, FrameReader, FrameWriter, Methods, type InitializeParams, type SessionEvent } from "@starling/protocol";
import { EventPump } from "./event-pump.js";
import { createLogger } from "./logger.js";
import { parseParams } from "./rpc-errors.js";

/** The variable the warm-up session names for its API key (given in `env`, never set in process.env). */
export const WARMUP_KEY_ENV = "STARLING_WARMUP_KEY";

/** The SSE body a chat-completions server streams: one event per chunk, usage, then `[DONE]`. */
function sseReply(delta: Record<string, unknown>[], finish: "stop" | "tool_calls"): Buffer[] {
  const chunk = (d: Record<string, unknown>, finishReason: string | null = null) => ({
    id: "chatcmpl-warmup",
    object: "chat.completion.chunk",
    created: 0,
    model: "warmup",
    choices: [{ index: 0, delta: d, finish_reason: finishReason }],
  });
  const events = [chunk({ role: "assistant", content: "" }), ...delta.map((d) => chunk(d)), chunk({}, finish)];
  events.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 900, completion_tokens: 12, total_tokens: 912 } } as (typeof events)[number]);
  return [...events.map((e) => Buffer.from(`data: ${JSON.stringify(e)}\n\n`)), Buffer.from("data: [DONE]\n\n")];
}

/** The model's replies in order (built per warm-up, so none of it stays in the snapshot's heap). */
const cannedReplies = (): Buffer[][] => [
  // Turn 1: a plain answer.
  sseReply([{ content: "Hello! " }, { content: "How can I help?" }], "stop"),
  // Turn 2: one file tool call, then the answer.
  sseReply(
    [
      { tool_calls: [{ index: 0, id: "call_warmup", type: "function", function: { name: "file_read", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"file_path":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"notes.txt"}' } }] },
    ],
    "tool_calls",
  ),
  sseReply([{ content: "The notes say hello." }], "stop"),
];

/**
 * The model's HTTP exchange, answered from `cannedReplies()` in order: a NodeResponse over a stream fed the way
 * node:http feeds an IncomingMessage (chunks pushed, then the end), so the provider's real reading code runs.
 */
function cannedTransport(): PostJson {
  const replies = cannedReplies();
  return async (_url, _headers, payload) => {
    JSON.parse(payload.toString("utf8")); // the request body the provider built must be JSON
    const chunks = replies.shift();
    if (!chunks) throw new Error("snapshot warm-up: more model calls than canned replies");
    const message = Object.assign(new Readable({ read() {} }), {
      statusCode: 200,
      headers: { "content-type": "text/event-stream" },
      complete: true,
    });
    setImmediate(() => {
      for (const chunk of chunks) message.push(chunk);
      message.push(null);
    });
    const request = { destroy: () => undefined, writableFinished: true };
    return new NodeResponse(message as unknown as IncomingMessage, request as unknown as ClientRequest);
  };
}

/**
 * Waits until the session machine has left the turn: `turn_completed` is announced when it is stored,
 * a little before the machine finishes the turn, and a shutdown during a turn waits up to 2 s for it.
 */
async function idle(session: Session): Promise<void> {
  for (let tick = 0; tick < 1000; tick++) {
    const view = session.query({ view: "live_state" });
    if (view.view === "live_state" && view.state === "idle") return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("snapshot warm-up: the session did not become idle after its turns");
}

/** A JSON-RPC request frame as the host writes it. */
function frame(id: number, method: string, params: unknown): string {
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Runs two turns of the session `init` describes (its workspace a scratch folder): a plain one, then one
 * with a `file_read` call. Requests arrive as JSON-RPC frames, events leave through the EventPump as
 * frames, and every event is acknowledged, as by a host. Resolves once both turns completed and the session is
 * shut down; rejects on a failed turn (the snapshot build then fails).
 */
export async function warmUpTurns(init: InitializeParams): Promise<void> {
  const workspace = init.workspace;
  writeFileSync(join(workspace, "notes.txt"), "hello from the notes\n");
  const env = { [WARMUP_KEY_ENV]: "sk-snapshot-warmup" }; // redacted from error messages like a real key
  const log = createLogger("info", {}, () => undefined);
  const input = new PassThrough();
  const output = new Writable({ write: (_chunk, _encoding, done) => done() });
  const connection = createMessageConnection(new FrameReader(input), new FrameWriter(output));

  const completed: number[] = [];
  let waiter: { turns: number; resolve: () => void; reject: (err: Error) => void } | null = null;
  const pump = new EventPump((entry) => void connection.sendNotification(Methods.event.method, entry));
  const session = await Session.open({
    init,
    log,
    env,
    coordinate: async () => ({ ok: false, error: "no host while the snapshot is built" }),
    provider: createProvider(init.model, env, { post: cannedTransport() }),
    store: await SessionStore.openOn(new MemoryLevel<string, unknown>({ valueEncoding: "json" })),
    onEvent: (entry) => {
      pump.push(entry);
      onEvent(entry.seq, entry.event);
    },
  });
  function onEvent(seq: number, event: SessionEvent): void {
    if (event.type === "turn_failed") waiter?.reject(new Error(`snapshot warm-up: turn failed: ${JSON.stringify(event)}`));
    if (event.type === "turn_completed") completed.push(event.turnId);
    if (waiter && completed.length >= waiter.turns) waiter.resolve();
    if (seq > 0) input.write(frame(1000 + seq, Methods.ackEvents.method, { upTo: seq }));
  }
  connection.onRequest(Methods.enqueue.method, (raw: unknown) => session.enqueue(parseParams(Methods.enqueue.method, EnqueueParams, raw)));
  connection.onRequest(Methods.ackEvents.method, async (raw: unknown) => ({
    lastAckedSeq: await session.ackEvents(parseParams(Methods.ackEvents.method, AckEventsParams, raw).upTo),
  }));
  connection.listen();
  try {
    pump.resume(await session.unacknowledged());
    session.start((err) => waiter?.reject(err instanceof Error ? err : new Error(String(err))));
    const turn = (n: number, text: string) =>
      new Promise<void>((resolve, reject) => {
        waiter = { turns: n, resolve, reject };
        input.write(frame(n, Methods.enqueue.method, { messageId: `warmup-${n}`, kind: "user", message: { role: "user", content: [{ type: "text", text }] } }));
      });
    await turn(1, "hello");
    await turn(2, "what do my notes say?");
    await idle(session);
  } finally {
    await session.shutdown();
    connection.dispose();
    input.end();
  }
}
