// docs/protocol.md against the schemas: every example frame must be valid, every method, event,
// error code and crash point must be documented, and bad payloads must be rejected naming the field.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  AckEventsParams,
  controlParams,
  DURABLE_EVENT_TYPES,
  EnqueueParams,
  ErrorCodes,
  InitializeParams,
  Methods,
  ModelConfig,
  queryParams,
  SessionEvent,
  SessionEventParams,
  WORKER_CRASH_POINTS,
  describeIssues,
  formatIssues,
} from "../src/index.js";
import { exchangeProblems, frameBlocks } from "./frames.js";

const DOC_PATH = new URL("../../../docs/protocol.md", import.meta.url);
const doc = readFileSync(DOC_PATH, "utf8");
const blocks = frameBlocks(doc);
const frames = blocks.flat();

/** Event types the worker cannot be made to send validly today, so the doc describes them in prose only. */
const EVENTS_WITHOUT_FRAMES: Record<string, string> = {
  control_rejected: "defined in the schema but never emitted (rejections are request results)",
  runtime_crashed: "only sent when the session runtime crashes, which no scripted example can trigger safely",
};

const eventTypes = SessionEvent.options.map((o) => o.shape.type.value as string);

describe("docs/protocol.md example frames", () => {
  it("contains example exchanges", () => {
    expect(blocks.length).toBeGreaterThan(10);
    expect(frames.length).toBeGreaterThan(80);
  });

  it.each(blocks.map((b) => [`block at line ${b[0]!.line}`, b] as const))("%s matches the schemas", (_name, block) => {
    expect(exchangeProblems(block)).toEqual([]);
  });

  it("shows every method", () => {
    const shown = new Set(frames.map((f) => f.body["method"]).filter((m) => typeof m === "string"));
    const missing = Object.values(Methods)
      .map((d) => d.method)
      .filter((m) => !shown.has(m));
    expect(missing, "methods without an example frame").toEqual([]);
  });

  it("shows every event type (or says why not)", () => {
    const shown = new Set(
      frames.map((f) => (f.body["params"] as { event?: { type?: string } } | undefined)?.event?.type).filter(Boolean),
    );
    const missing = eventTypes.filter((t) => !shown.has(t) && !(t in EVENTS_WITHOUT_FRAMES));
    expect(missing, "event types without an example frame").toEqual([]);
    for (const t of Object.keys(EVENTS_WITHOUT_FRAMES)) expect(doc).toContain(`\`${t}\``);
  });

  it("marks exactly the DURABLE_EVENT_TYPES as durable in the events table", () => {
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `([a-z_]+)` \|\s*(yes)?\s*\|/gm)) rows.set(m[1]!, m[2] ?? "");
    expect([...rows.keys()].sort()).toEqual([...eventTypes].sort());
    const durable = [...rows].filter(([, yes]) => yes === "yes").map(([t]) => t);
    expect(durable.sort()).toEqual([...DURABLE_EVENT_TYPES].sort());
  });

  it("lists every error code and crash point", () => {
    for (const [name, code] of Object.entries(ErrorCodes)) expect(doc).toMatch(new RegExp(`\\| ${code} \\| \`${name}\` \\|`));
    for (const point of WORKER_CRASH_POINTS) expect(doc).toMatch(new RegExp(`\\| \`${point}\` \\|`));
  });

  it("links every generated schema file", () => {
    for (const m of doc.matchAll(/\]\((schemas\/[^)]+\.json)\)/g)) {
      expect(() => readFileSync(new URL(`../../../docs/${m[1]}`, import.meta.url)), m[1]).not.toThrow();
    }
  });
});

const model = { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:8080/v1/chat/completions" };
const init = { protocolVersion: 1, sessionId: "s.foreground", sessionType: "foreground", workspace: "/tmp/ws", model };
const enqueue = { messageId: "m1", kind: "user", message: { role: "user", content: [{ type: "text", text: "hi" }] } };
const completed = { type: "turn_completed", turnId: 1, message: { role: "assistant", content: [{ type: "text", text: "ok" }] } };

describe("schemas accept good payloads", () => {
  it("initialize with every optional field", () => {
    const parsed = InitializeParams.parse({
      ...init,
      compression: { thresholdTokens: 0, retainRecentTokens: 0 },
      helperModels: { search: { ...model, provider_type: "brave_search" } },
      toolRemoteMode: { host: "box", path: "/srv/ws" },
      stepLimit: 5,
      dataDir: "/tmp/db",
      streamDeltas: true,
      systemPromptExtra: "Be brief.",
      coordinateTimeoutMs: 1000,
    });
    expect(parsed.stepLimit).toBe(5);
  });

  it("applies defaults and keeps unknown ModelConfig keys, but strips unknown params", () => {
    const parsed = InitializeParams.parse({ ...init, model: { ...model, future_knob: 3 }, futureField: true });
    expect(parsed.model.capabilities).toEqual(["chat"]);
    expect((parsed.model as Record<string, unknown>)["future_knob"]).toBe(3);
    expect(parsed).not.toHaveProperty("futureField");
    expect(queryParams().parse({ view: "transcript_page" })).toEqual({ view: "transcript_page", source: "all", offset: 0, limit: 50 });
  });

  it("enqueue with file items and the optional fields", () => {
    const file = { type: "file", uri: "file:///tmp/ws/a.png", name: "a.png", mediaType: "image/png" };
    expect(EnqueueParams.safeParse({ ...enqueue, kind: "actor", message: { ...enqueue.message, userName: "ada", time: "2026-01-01T00:00:00Z", content: [file] } }).success).toBe(true);
  });

  it("every event type in a session/event", () => {
    expect(SessionEventParams.safeParse({ seq: 1, event: completed }).success).toBe(true);
    expect(SessionEventParams.safeParse({ seq: 2, event: { type: "control_rejected", control: "cancel", reason: "nothing to cancel" } }).success).toBe(true);
    expect(SessionEventParams.safeParse({ seq: 3, event: { type: "runtime_crashed", message: "boom" } }).success).toBe(true);
  });
});

interface BadCase {
  name: string;
  schema: z.ZodType;
  payload: unknown;
  /** The field path the error must name. */
  path: string;
}

const bad: BadCase[] = [
  { name: "initialize: relative workspace", schema: InitializeParams, payload: { ...init, workspace: "ws" }, path: "workspace" },
  { name: "initialize: protocol version 2", schema: InitializeParams, payload: { ...init, protocolVersion: 2 }, path: "protocolVersion" },
  { name: "initialize: empty session id", schema: InitializeParams, payload: { ...init, sessionId: "" }, path: "sessionId" },
  { name: "initialize: unknown session type", schema: InitializeParams, payload: { ...init, sessionType: "main" }, path: "sessionType" },
  { name: "initialize: model url", schema: InitializeParams, payload: { ...init, model: { ...model, url: "localhost" } }, path: "model.url" },
  { name: "initialize: provider type", schema: InitializeParams, payload: { ...init, model: { ...model, provider_type: "gpt" } }, path: "model.provider_type" },
  { name: "initialize: model without name", schema: InitializeParams, payload: { ...init, model: { ...model, model_name: undefined } }, path: "model.model_name" },
  { name: "initialize: capability", schema: InitializeParams, payload: { ...init, model: { ...model, capabilities: ["chat", "telepathy"] } }, path: "model.capabilities.1" },
  { name: "initialize: negative compression", schema: InitializeParams, payload: { ...init, compression: { thresholdTokens: -1, retainRecentTokens: 10 } }, path: "compression.thresholdTokens" },
  { name: "initialize: step limit 0", schema: InitializeParams, payload: { ...init, stepLimit: 0 }, path: "stepLimit" },
  { name: "enqueue: no message id", schema: EnqueueParams, payload: { ...enqueue, messageId: undefined }, path: "messageId" },
  { name: "enqueue: unknown kind", schema: EnqueueParams, payload: { ...enqueue, kind: "bot" }, path: "kind" },
  { name: "enqueue: empty content", schema: EnqueueParams, payload: { ...enqueue, message: { role: "user", content: [] } }, path: "message.content" },
  { name: "enqueue: text without text", schema: EnqueueParams, payload: { ...enqueue, message: { role: "user", content: [{ type: "text" }] } }, path: "message.content.0.text" },
  { name: "enqueue: unknown item type", schema: EnqueueParams, payload: { ...enqueue, message: { role: "user", content: [{ type: "image", url: "x" }] } }, path: "message.content.0.type" },
  { name: "enqueue: role system", schema: EnqueueParams, payload: { ...enqueue, message: { ...enqueue.message, role: "system" } }, path: "message.role" },
  { name: "cancel: reason not a string", schema: controlParams(), payload: { reason: 5 }, path: "reason" },
  { name: "query: unknown view", schema: queryParams(), payload: { view: "everything" }, path: "view" },
  { name: "query: limit too big", schema: queryParams(), payload: { view: "transcript_page", limit: 501 }, path: "limit" },
  { name: "query: message_detail without index", schema: queryParams(), payload: { view: "message_detail" }, path: "index" },
  { name: "ackEvents: negative", schema: AckEventsParams, payload: { upTo: -1 }, path: "upTo" },
  { name: "event: negative seq", schema: SessionEventParams, payload: { seq: -1, event: completed }, path: "seq" },
  { name: "event: unknown type", schema: SessionEventParams, payload: { seq: 1, event: { type: "turn_exploded", turnId: 1 } }, path: "event.type" },
  { name: "event: error kind", schema: SessionEventParams, payload: { seq: 1, event: { type: "turn_failed", turnId: 1, error: { kind: "oops", message: "x" }, canContinue: true } }, path: "event.error.kind" },
  { name: "event: completed by a user", schema: SessionEventParams, payload: { seq: 1, event: { ...completed, message: { role: "user", content: [] } } }, path: "event.message.role" },
  { name: "coordinate result: no ok", schema: Methods.coordinate.result, payload: { result: 1 }, path: "ok" },
  { name: "model config: retry mode", schema: ModelConfig, payload: { ...model, retry_mode: "forever" }, path: "retry_mode" },
];

describe("schemas reject bad payloads with a message naming the field", () => {
  it.each(bad.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const parsed = c.schema.safeParse(c.payload);
    expect(parsed.success, "payload should be rejected").toBe(false);
    if (parsed.success) return;
    expect(formatIssues(parsed.error).map((i) => i.path)).toContain(c.path);
    expect(describeIssues(parsed.error)).toMatch(new RegExp(`(^|; )${c.path.replace(/\./g, "\\.")}: \\S`));
  });
});

describe("the frame checker itself", () => {
  const check = (...lines: string[]) => exchangeProblems(frameBlocks("```\n" + lines.join("\n") + "\n```")[0] ?? []);

  it("flags a result that does not match its method", () => {
    const problems = check(
      `--> {"jsonrpc":"2.0","id":1,"method":"session/enqueue","params":${JSON.stringify(enqueue)}}`,
      `<-- {"jsonrpc":"2.0","id":1,"result":{"accepted":true}}`,
    );
    expect(problems.join("\n")).toMatch(/duplicate/);
  });

  it("flags a method written in the wrong direction and an unknown error code", () => {
    const problems = check(`<-- {"jsonrpc":"2.0","id":1,"method":"shutdown"}`, `--> {"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x","data":{"name":"X"}}}`);
    expect(problems.join("\n")).toMatch(/must be written -->/);
    expect(problems.join("\n")).toMatch(/not one of ErrorCodes/);
  });

  it("flags an InvalidParams answer whose issues differ from the schema's", () => {
    const problems = check(
      `--> {"jsonrpc":"2.0","id":1,"method":"session/ackEvents","params":{"upTo":-1}}`,
      `<-- {"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"session/ackEvents: invalid params: seq: bad","data":{"name":"InvalidParams","issues":[{"path":"seq","message":"bad"}]}}}`,
    );
    expect(problems).toHaveLength(2);
  });

  it("flags an event with an invalid seq", () => {
    const problems = check(`<-- {"jsonrpc":"2.0","method":"session/event","params":{"seq":-1,"event":{"type":"runtime_crashed","message":"boom"}}}`);
    expect(problems.join("\n")).toMatch(/seq: /);
  });
});
