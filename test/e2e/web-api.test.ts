// Web channel API through the real CLI: auth, validation, idempotent POST, SSE resume (dropped
// connection, host restart), commands, workspace confinement, kill -9 between admission and reply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastUserText } from "./fixture.js";
import type { RecordedRequest } from "../fakes/openai-server.js";

/** The user's words (the host puts a "[from … at …]" line before them). */
const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";
import { openEvents, startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";

describe("web channel API", () => {
  let e2e: WebE2E;
  let conv: string;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => ({ text: `echo: ${said(req)}` }));
    await e2e.start();
    conv = (await e2e.json("/api/conversations", { method: "POST", json: { title: "API test" } })).conversation_id;
  }, 60_000);
  afterAll(() => e2e?.close());

  it("answers 401 without the right bearer token, and serves the page without one", async () => {
    for (const token of [null, "wrong", `${WEB_TOKEN}x`]) {
      const res = await e2e.call("/api/conversations", { token });
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toMatch(/bearer token/);
    }
    const openai = await e2e.call("/v1/chat/completions", { token: null, method: "POST", json: {} });
    expect(openai.status).toBe(401);
    expect((await openai.json()).error.type).toBe("authentication_error");
    const page = await e2e.call("/", { token: null });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>Starling</title>");
    expect(page.headers.get("access-control-allow-origin")).toBeNull();
  });

  /** The conversation's newest event id (a replay that has reached it holds everything before; `ev.length > 0` does not). */
  async function lastEventId(): Promise<number> {
    const newest = await e2e.json(`/api/conversations/${conv}/messages?limit=1`);
    return Number(newest.messages[0].id);
  }

  it("rejects bad bodies with a 400 naming the field", async () => {
    const bad = async (json: unknown, field: RegExp) => {
      const res = await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(field);
    };
    await bad({ text: 5 }, /^text: /);
    await bad({ text: "hi", message_id: "has space" }, /^message_id: /);
    await bad({ text: "hi", colour: "red" }, /colour/);
    await bad({ text: "   " }, /^text: empty/);
    const tooBig = await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "x".repeat(1_100_000) } });
    expect(tooBig.status).toBe(413);
    const missing = await e2e.call("/api/conversations/web-999999/messages", { method: "POST", json: { text: "hi" } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toMatch(/no conversation "web-999999"/);
  });

  it("admits a retried POST once and streams the reply; a dropped stream resumes with Last-Event-ID", async () => {
    const stream = openEvents(e2e, conv);
    const before = e2e.model.requests.length;
    const first = await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "hello web", message_id: "m-1" } });
    expect(first.status).toBe("admitted");
    const again = await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "hello web", message_id: "m-1" } });
    expect(again).toMatchObject({ status: "duplicate", event_id: first.event_id });
    await stream.wait((ev) => ev.some((e) => e.kind === "assistant" && e.text === "echo: hello web"), "the reply");
    expect(stream.events.filter((e) => e.kind === "user").map((e) => e.messageId)).toEqual(["m-1"]);
    const lastSeen = stream.ids.at(-1)!;
    stream.close();

    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "while away", message_id: "m-2" } });
    const resumed = openEvents(e2e, conv, lastSeen);
    await resumed.wait((ev) => ev.some((e) => e.text === "echo: while away"), "the reply sent while disconnected");
    expect(resumed.events.map((e) => e.text)).toEqual(["while away", "echo: while away"]);
    expect(resumed.ids.every((id) => id > lastSeen)).toBe(true);
    resumed.close();
    expect(e2e.model.requests.length - before).toBe(2);

    const history = await e2e.json(`/api/conversations/${conv}/messages?limit=3`);
    expect(history.messages.map((e: { text: string }) => e.text)).toEqual(["echo: hello web", "while away", "echo: while away"]);
    expect(history.has_more_before).toBe(true);
    const older = await e2e.json(`/api/conversations/${conv}/messages?before=${history.messages[0].id}`);
    expect(older.messages.map((e: { text: string }) => e.text)).toEqual(["hello web"]);
  });

  it("runs commands: /status as a message, cancel and status routes", async () => {
    const status = await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "/status" } });
    expect(status.status).toBe("command");
    expect(status.reply).toContain(`Conversation: ${conv}`);
    const cancel = await e2e.json(`/api/conversations/${conv}/cancel`, { method: "POST" });
    expect(cancel.text).toMatch(/^Nothing to cancel/);
    const route = await e2e.json(`/api/conversations/${conv}/status`);
    expect(route.text).toContain("Model: main");
  });

  it("uploads, lists and downloads workspace files, and refuses paths outside the workspace", async () => {
    const up = await e2e.call(`/api/conversations/${conv}/workspace/file?path=notes/a.txt`, { method: "POST", body: "file body", headers: { "content-type": "application/octet-stream" } });
    expect(up.status).toBe(201);
    const list = await e2e.json(`/api/conversations/${conv}/workspace?path=notes`);
    expect(list.entries).toEqual([{ name: "a.txt", type: "file", size: 9 }]);
    const down = await e2e.call(`/api/conversations/${conv}/workspace/file?path=notes/a.txt`);
    expect(await down.text()).toBe("file body");
    for (const path of ["../../../etc/passwd", "/etc/passwd", "shared/../../../../etc/hostname"]) {
      const res = await e2e.call(`/api/conversations/${conv}/workspace/file?path=${encodeURIComponent(path)}`);
      expect([400, 404]).toContain(res.status);
      expect(await res.text()).not.toContain("root:");
    }
    const escape = await e2e.call(`/api/conversations/${conv}/workspace/file?path=../escape.txt`, { method: "POST", body: "x", headers: { "content-type": "application/octet-stream" } });
    expect(escape.status).toBe(400);
    expect((await escape.json()).error.message).toMatch(/leaves the workspace/);
  });

  it("keeps every event across a host restart: the stream resumes where it stopped", async () => {
    const seen = await lastEventId();
    const stream = openEvents(e2e, conv);
    await stream.wait(() => stream.ids.includes(seen), "the replay");
    await e2e.stop();
    await stream.done;
    await e2e.start();
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "after restart", message_id: "m-3" } });
    const resumed = openEvents(e2e, conv, seen);
    await resumed.wait((ev) => ev.some((e) => e.text === "echo: after restart"), "the reply after the restart");
    expect(resumed.events.map((e) => e.text)).toEqual(["after restart", "echo: after restart"]);
    resumed.close();
  }, 60_000);

  it("kill -9 between admission and reply: after the restart the reply arrives once", async () => {
    await e2e.stop();
    await e2e.start({ STARLING_CRASH_AT: "admit" });
    const seen = await lastEventId();
    const stream = openEvents(e2e, conv);
    await stream.wait(() => stream.ids.includes(seen), "the replay");
    const posted = await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "crash me", message_id: "m-4" } }).catch((err: unknown) => err);
    expect(posted).toBeInstanceOf(Error); // the host died before answering
    await e2e.host!.exited;
    stream.close();
    await e2e.start();
    // The client does not know whether it landed, so it retries with the same id.
    const retry = await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "crash me", message_id: "m-4" } });
    expect(retry.status).toBe("duplicate");
    const resumed = openEvents(e2e, conv, seen);
    await resumed.wait((ev) => ev.some((e) => e.text === "echo: crash me"), "the reply after the crash");
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.events.map((e) => e.text)).toEqual(["crash me", "echo: crash me"]);
    expect(e2e.model.requests.filter((r) => said(r) === "crash me")).toHaveLength(1);
    resumed.close();
  }, 60_000);

  it("a message stored but not admitted when the host died (web_user) is admitted at the next start", async () => {
    await e2e.stop();
    await e2e.start({ STARLING_CRASH_AT: "web_user" });
    await e2e.call(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "stored only", message_id: "m-5" } }).catch(() => undefined);
    await e2e.host!.exited;
    await e2e.start();
    const history = openEvents(e2e, conv);
    await history.wait((ev) => ev.some((e) => e.text === "echo: stored only"), "the reply to the pending message");
    expect(history.events.filter((e) => e.text === "stored only")).toHaveLength(1);
    history.close();
  }, 60_000);

  it("kill -9 after a reply entered the web log but before the outbox let it go (web_event): shown once", async () => {
    await e2e.stop();
    await e2e.start({ STARLING_CRASH_AT: "web_event" });
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "moved once", message_id: "m-6" } });
    await e2e.host!.exited;
    await e2e.start();
    const history = openEvents(e2e, conv);
    await history.wait((ev) => ev.some((e) => e.text === "echo: moved once"), "the reply");
    await new Promise((r) => setTimeout(r, 300));
    expect(history.events.filter((e) => e.text === "echo: moved once")).toHaveLength(1);
    history.close();
  }, 60_000);
});
