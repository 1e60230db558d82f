// Web channel review (adversarial): retried commands, OpenAI Idempotency-Key with a model alias,
// uploads through a symlink that leads out, bodies that are not JSON, asset names of Object.prototype.
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastUserText } from "./fixture.js";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { openEvents, startWebE2E, type WebE2E } from "./web-fixture.js";

const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";

describe("web channel under review", () => {
  let e2e: WebE2E;
  let conv: string;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => ({ text: `echo: ${said(req)}` }));
    await e2e.start();
    conv = (await e2e.json("/api/conversations", { method: "POST", json: { title: "review" } })).conversation_id;
  }, 60_000);
  afterAll(() => e2e?.close());

  it("a command POST retried with the same message_id runs once and never reaches the model", async () => {
    const url = `/api/conversations/${conv}/messages`;
    const first = await e2e.json(url, { method: "POST", json: { text: "/status", message_id: "cmd-1" } });
    expect(first.status).toBe("command");
    const again = await e2e.json(url, { method: "POST", json: { text: "/status", message_id: "cmd-1" } });
    expect(again).toMatchObject({ status: "duplicate", event_id: first.event_id });
    await e2e.json(url, { method: "POST", json: { text: "marker", message_id: "cmd-2" } });
    const stream = openEvents(e2e, conv);
    await stream.wait((ev) => ev.some((e) => e.text === "echo: marker"), "the marker's reply");
    stream.close();
    expect(e2e.model.requests.map(said)).not.toContain("/status");
    expect(stream.events.filter((e) => e.kind === "notice" && e.text.startsWith("Conversation:"))).toHaveLength(1);
  });

  it("OpenAI: a request retried with the same Idempotency-Key and a model alias is one conversation and one turn", async () => {
    const ask = () =>
      e2e.call("/v1/chat/completions", { method: "POST", headers: { "idempotency-key": "stainless-node-retry-1" }, json: { model: "main", messages: [{ role: "user", content: "count me once" }] } });
    const a = await ask();
    const b = await ask();
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.headers.get("x-starling-conversation")).toBe(a.headers.get("x-starling-conversation"));
    expect((await b.json()).choices[0].message.content).toBe("echo: count me once");
    expect(e2e.model.requests.filter((r) => said(r) === "count me once")).toHaveLength(1);
  });

  it("uploads refuse a symlink that leads out, a folder and a NUL, with a 400 naming the path", async () => {
    const outside = join(e2e.workdir, "..", "outside");
    mkdirSync(outside, { recursive: true });
    const workspace = join(e2e.workdir, "conversations", conv);
    symlinkSync(join(outside, "pwned.txt"), join(workspace, "dangling"));
    mkdirSync(join(workspace, "folder"), { recursive: true });
    const upload = (path: string) =>
      e2e.call(`/api/conversations/${conv}/workspace/file?path=${encodeURIComponent(path)}`, { method: "POST", body: "evil", headers: { "content-type": "application/octet-stream" } });
    const out = await upload("dangling");
    expect(out.status).toBe(400);
    expect((await out.json()).error.message).toMatch(/dangling/);
    expect(existsSync(join(outside, "pwned.txt"))).toBe(false);
    for (const path of ["folder", "a\0b"]) {
      const res = await upload(path);
      expect(res.status).toBe(400);
      expect((await res.json()).error.field).toBe("path");
    }
  });

  it("an upload into .starling/ (the session's own state) is a 403 and writes nothing", async () => {
    const workspace = join(e2e.workdir, "conversations", conv);
    for (const path of [".starling/sessions/x", ".starling/new.txt", "./.starling/a"]) {
      const res = await e2e.call(`/api/conversations/${conv}/workspace/file?path=${encodeURIComponent(path)}`, { method: "POST", body: "junk", headers: { "content-type": "application/octet-stream" } });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "forbidden_path", field: "path" });
      expect(existsSync(join(workspace, path))).toBe(false);
    }
    const ok = await e2e.call(`/api/conversations/${conv}/workspace/file?path=${encodeURIComponent("notes/.starling-like.txt")}`, { method: "POST", body: "fine", headers: { "content-type": "application/octet-stream" } });
    expect(ok.status).toBe(201);
  });

  it("a message with nothing visible (spaces, zero-width characters) is a 400, over /api and /v1", async () => {
    for (const text of [" \n ", "\u200b", "\u200b\u200d\ufeff "]) {
      const res = await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json: { text } });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ field: "text" });
      const v1 = await e2e.call("/v1/chat/completions", { method: "POST", json: { model: `conv:${conv}`, messages: [{ role: "user", content: text }] } });
      expect(v1.status).toBe(400);
    }
  });

  it("a body that is not JSON is a 415 saying to send JSON; /assets/__proto__ is a 404", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", body: "text=hi", headers: { "content-type": type } });
      expect(res.status).toBe(415);
      expect((await res.json()).error.message).toMatch(/application\/json/);
    }
    for (const name of ["__proto__", "constructor", "toString"]) expect((await e2e.call(`/assets/${name}`, { token: null })).status).toBe(404);
  });

  it("a POST without Content-Type (a JSON body, or none where fields are needed) is a 415 saying to send JSON, over /api and /v1", async () => {
    const bare = (path: string, json?: unknown) => e2e.call(path, { method: "POST", ...(json === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(json)) }) });
    const cases: [string, unknown][] = [
      [`/api/conversations/${conv}/messages`, { text: "no header" }],
      [`/api/conversations/${conv}/messages`, undefined],
      ["/api/conversations", { title: "no header" }],
      [`/api/conversations/${conv}/callback`, undefined],
      ["/v1/chat/completions", { model: `conv:${conv}`, messages: [{ role: "user", content: "no header" }] }],
      ["/v1/chat/completions", undefined],
    ];
    const got: { status: number; message: string }[] = [];
    for (const [path, json] of cases) {
      const res = await bare(path, json);
      got.push({ status: res.status, message: (await res.json()).error.message });
    }
    expect(got.map((g) => g.status)).toEqual(cases.map(() => 415));
    for (const { message } of got) expect(message).toMatch(/no (body and no )?Content-Type; send JSON with Content-Type: application\/json/);
    expect(e2e.model.requests.map(said)).not.toContain("no header");
    // A POST whose fields are all optional needs no body (and so no Content-Type).
    expect((await e2e.call("/api/conversations", { method: "POST" })).status).toBe(201);
  });

  it("OpenAI with stream: true and a command: the answer comes as chunks ending with [DONE]", async () => {
    const res = await e2e.call("/v1/chat/completions", { method: "POST", json: { model: `conv:${conv}`, stream: true, messages: [{ role: "user", content: "/status" }] } });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = await res.text();
    const chunks = body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)));
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toContain(`Conversation: ${conv}`);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("a command stored but not run when the host died (web_user) runs at the next start, never as a model message", async () => {
    await e2e.stop();
    await e2e.start({ STARLING_CRASH_AT: "web_user" });
    await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "/status", message_id: "cmd-crash" } }).catch(() => undefined);
    await e2e.host!.exited;
    await e2e.start();
    const retry = await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "/status", message_id: "cmd-crash" } });
    expect(retry.status).toBe("duplicate");
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "marker 2", message_id: "cmd-3" } });
    const stream = openEvents(e2e, conv, retry.event_id);
    await stream.wait((ev) => ev.some((e) => e.text === "echo: marker 2"), "the marker's reply");
    stream.close();
    expect(e2e.model.requests.map(said)).not.toContain("/status");
    expect(stream.events.filter((e) => e.kind === "notice" && e.text.startsWith("Conversation:"))).toHaveLength(1);
  }, 60_000);
});

describe("web channel: a refused message retried with its id", () => {
  let e2e: WebE2E;
  afterAll(() => e2e?.close());

  it("is admitted once the limit allows it (not a silent duplicate), over /api and /v1", async () => {
    e2e = await startWebE2E((req) => ({ text: `echo: ${said(req)}` }), undefined, { limits: { per_chat_messages_per_minute: 1, max_queued_turns: 200 } });
    await e2e.start();
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const url = `/api/conversations/${conv}/messages`;
    expect((await e2e.json(url, { method: "POST", json: { text: "first", message_id: "r-0" } })).status).toBe("admitted");
    const refused = await e2e.call(url, { method: "POST", json: { text: "second", message_id: "r-1" } });
    expect(refused.status).toBe(429);
    const ask = () => e2e.call("/v1/chat/completions", { method: "POST", headers: { "idempotency-key": "sdk-1" }, json: { model: `conv:${conv}`, messages: [{ role: "user", content: "third" }] } });
    expect((await ask()).status).toBe(429);
    await e2e.stop(); // the rate window lives in memory: a restart opens it again
    await e2e.start();
    const retry = await e2e.call(url, { method: "POST", json: { text: "second", message_id: "r-1" } });
    expect(retry.status).toBe(202);
    expect((await retry.json()).status).toBe("admitted");
    const stream = openEvents(e2e, conv);
    await stream.wait((ev) => ev.some((e) => e.text === "echo: second"), "the retried message's reply");
    stream.close();
    await e2e.stop();
    await e2e.start();
    const completion = await ask();
    expect(completion.status).toBe(200);
    expect((await completion.json()).choices[0].message.content).toBe("echo: third");
    expect(e2e.model.requests.filter((r) => said(r) === "second")).toHaveLength(1);
  }, 60_000);
});
