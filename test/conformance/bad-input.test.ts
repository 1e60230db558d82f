// Bad input never takes the worker down: every bad request gets a JSON-RPC error and the next valid one an answer.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, type TestContext } from "vitest";
import { ErrorCodes, sessionFolderName, WorkerRequestError, type WorkerClient } from "@starling/protocol";
import { initializedRawWorker, newEnv, rawWorker, userMessage } from "./harness.js";

async function rpcError(p: Promise<unknown>): Promise<WorkerRequestError> {
  const err = await p.then(
    (v) => new Error(`expected an error, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  if (!(err instanceof WorkerRequestError)) throw err;
  return err;
}

async function stillServes(client: WorkerClient): Promise<void> {
  expect(await client.query({ view: "live_state" })).toMatchObject({ view: "live_state" });
}

describe.concurrent("bad input", () => {
  it("a frame with invalid JSON gets a parse error (id null) and the worker keeps serving", async (ctx) => {
    const { dir, initParams } = await newEnv(ctx);
    const raw = rawWorker(dir);
    ctx.onTestFinished(() => raw.close());
    raw.writeRaw("Content-Length: 4\r\n\r\n{bad");
    const parseError = await raw.next((m) => "error" in m);
    expect(parseError).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: ErrorCodes.ParseError } });

    raw.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: initParams() });
    const init = await raw.next((m) => m["id"] === 1);
    expect(init).toMatchObject({ result: { protocolVersion: 1, historyLength: 0 } });

    // Again after initialize: a request cut off mid-JSON.
    const truncated = '{"jsonrpc":"2.0","id":7,"method":';
    raw.writeRaw(`Content-Length: ${truncated.length}\r\n\r\n${truncated}`);
    expect(await raw.next((m) => m["id"] === null)).toMatchObject({ error: { code: ErrorCodes.ParseError } });
    raw.send({ jsonrpc: "2.0", id: 2, method: "session/query", params: { view: "live_state" } });
    expect(await raw.next((m) => m["id"] === 2)).toMatchObject({ result: { view: "live_state", state: "idle" } });
    expect(raw.child.exitCode).toBeNull();
  });

  it("a frame without Content-Length, or with a wrong one, gets a parse error and the frames after it are answered", async (ctx) => {
    const raw = await initializedRawWorker(ctx);
    const query = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "session/query", params: { view: "live_state" } });

    raw.writeRaw(`Content-Type: application/json\r\n\r\n${query(2)}`);
    expect(await raw.next((m) => m["id"] === null)).toMatchObject({ error: { code: ErrorCodes.ParseError, message: expect.stringMatching(/Content-Length/) } });
    raw.send(JSON.parse(query(3)));
    expect(await raw.next((m) => m["id"] === 3)).toMatchObject({ result: { view: "live_state" } });

    // Characters counted instead of UTF-8 bytes: the declared length is short, the frame's tail is left over.
    const accented = JSON.stringify({ jsonrpc: "2.0", id: 4, method: "session/query", params: { view: "live_state", note: "ünïcödé" } });
    raw.writeRaw(`Content-Length: ${accented.length}\r\n\r\n${accented}`);
    raw.send(JSON.parse(query(5)));
    expect(await raw.next((m) => m["id"] === 5)).toMatchObject({ result: { view: "live_state" } });
    expect(raw.child.exitCode).toBeNull();
  });

  it("valid JSON that is no JSON-RPC message gets -32600 (with its id when usable) and the worker keeps serving", async (ctx) => {
    const { dir, initParams } = await newEnv(ctx);
    const raw = rawWorker(dir);
    ctx.onTestFinished(() => raw.close());
    raw.send({ hello: "world" });
    expect(await raw.next((m) => "error" in m && m["id"] === null)).toMatchObject({ jsonrpc: "2.0", error: { code: ErrorCodes.InvalidRequest } });
    raw.send({ jsonrpc: "2.0", id: 9, method: 5 });
    expect(await raw.next((m) => m["id"] === 9)).toMatchObject({ error: { code: ErrorCodes.InvalidRequest, message: expect.stringMatching(/method/) } });
    raw.send([{ jsonrpc: "2.0", id: 10, method: "session/query" }]);
    expect(await raw.next((m) => "error" in m && m["id"] === null)).toMatchObject({ error: { code: ErrorCodes.InvalidRequest } });

    raw.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: initParams() });
    expect(await raw.next((m) => m["id"] === 1)).toMatchObject({ result: { protocolVersion: 1 } });
    expect(raw.child.exitCode).toBeNull();
  });

  it("params given as an array (by position) get -32602 saying params must be an object", async (ctx) => {
    const raw = await initializedRawWorker(ctx);
    raw.send({ jsonrpc: "2.0", id: 2, method: "session/query", params: [{ view: "live_state" }] });
    expect(await raw.next((m) => m["id"] === 2)).toMatchObject({
      error: { code: ErrorCodes.InvalidParams, message: expect.stringMatching(/params must be an object/), data: { name: "InvalidParams" } },
    });
    raw.send({ jsonrpc: "2.0", id: 3, method: "session/query", params: { view: "live_state" } });
    expect(await raw.next((m) => m["id"] === 3)).toMatchObject({ result: { view: "live_state" } });
  });

  it("a request before initialize is refused with -32002 and the worker can still be initialized", async (ctx) => {
    const env = await newEnv(ctx);
    const w = env.launch();
    const err = await rpcError(w.client.enqueue(userMessage("m1", "too early")));
    expect(err.code).toBe(ErrorCodes.NotInitialized);
    expect(err.message).toMatch(/initialize/);
    expect((await rpcError(w.client.query({ view: "live_state" }))).code).toBe(ErrorCodes.NotInitialized);
    expect((await rpcError(w.client.cancel())).code).toBe(ErrorCodes.NotInitialized);
    const init = await w.client.initialize(env.initParams());
    expect(init.historyLength).toBe(0);
    // The early message was not stored.
    expect(init.queuedInputs).toBe(0);
    await stillServes(w.client);
  });

  it("invalid initialize params name the field; a valid initialize afterwards works; a second one gets -32003", async (ctx) => {
    const env = await newEnv(ctx);
    const w = env.launch();
    const bad = await rpcError(w.client.raw("initialize", { ...env.initParams(), workspace: "relative/path" }));
    expect(bad.code).toBe(ErrorCodes.InvalidParams);
    expect(bad.message).toContain("workspace");
    const noModel = await rpcError(w.client.raw("initialize", { ...env.initParams(), model: { provider_type: "nope" } }));
    expect(noModel.code).toBe(ErrorCodes.InvalidParams);
    expect(noModel.message).toMatch(/model\.provider_type/);

    await w.client.initialize(env.initParams());
    const again = await rpcError(w.client.initialize(env.initParams()));
    expect(again.code).toBe(ErrorCodes.AlreadyInitialized);
    await stillServes(w.client);
  });

  it("params failing validation get -32602 naming the field, and no event or message results", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "valid one answered" }] });
    const w = await start();
    const noContent = await rpcError(w.client.raw("session/enqueue", { messageId: "m1", kind: "user", message: { role: "user" } }));
    expect(noContent.code).toBe(ErrorCodes.InvalidParams);
    expect(noContent.message).toContain("message.content");
    expect(noContent.data).toMatchObject({ issues: [{ path: "message.content" }] });

    const emptyContent = await rpcError(
      w.client.raw("session/enqueue", { messageId: "m1", kind: "user", message: { role: "user", content: [] } }),
    );
    expect(emptyContent.message).toContain("message.content");
    const badKind = await rpcError(w.client.raw("session/enqueue", { ...userMessage("m1", "x"), kind: "robot" }));
    expect(badKind.message).toContain("kind");
    const badItem = await rpcError(
      w.client.raw("session/enqueue", { messageId: "m1", kind: "user", message: { role: "user", content: [{ type: "text" }] } }),
    );
    expect(badItem.message).toContain("message.content.0.text");
    const badAck = await rpcError(w.client.raw("session/ackEvents", { upTo: -1 }));
    expect(badAck.code).toBe(ErrorCodes.InvalidParams);
    expect(badAck.message).toContain("upTo");
    const badCarriedAck = await rpcError(w.client.raw("session/enqueue", { ...userMessage("m1", "x"), ackUpTo: 1.5 }));
    expect(badCarriedAck.code).toBe(ErrorCodes.InvalidParams);
    expect(badCarriedAck.message).toContain("ackUpTo");
    const badView = await rpcError(w.client.raw("session/query", { view: "everything" }));
    expect(badView.code).toBe(ErrorCodes.InvalidParams);
    expect(badView.message).toContain("view");
    const noSuchMessage = await rpcError(w.client.query({ view: "message_detail", index: 99 }));
    expect(noSuchMessage.code).toBe(ErrorCodes.InvalidParams);
    const noParams = await rpcError(w.client.raw("session/enqueue", undefined));
    expect(noParams.code).toBe(ErrorCodes.InvalidParams);

    await stillServes(w.client);
    expect(w.events).toHaveLength(0);
    // messageId "m1" was never accepted, so it is not a duplicate now.
    expect(await w.client.enqueue(userMessage("m1", "valid"))).toEqual({ accepted: true, duplicate: false });
    await w.waitForEvent("turn_completed");
    expect(w.eventsOf("turn_started")).toHaveLength(1);
  });

  it("an unknown method gets -32601 naming it, and the worker keeps serving", async (ctx) => {
    const { start } = await newEnv(ctx);
    const w = await start();
    const err = await rpcError(w.client.raw("session/frobnicate", { x: 1 }));
    expect(err.code).toBe(ErrorCodes.MethodNotFound);
    expect(err.message).toContain("session/frobnicate");
    await stillServes(w.client);
  });

  it("a second worker on the same session database is refused (store locked), the first keeps serving", async (ctx) => {
    const env = await newEnv(ctx);
    const first = await env.start();
    const second = env.launch();
    const err = await rpcError(second.client.initialize(env.initParams()));
    expect(err.code).toBe(ErrorCodes.StoreLocked);
    await stillServes(first.client);
  });

  it("a session database that cannot be opened (read-only) gets an error naming the cause, not StoreLocked", async (ctx) => {
    const env = await newEnv(ctx);
    const first = await env.start();
    await first.client.shutdown();
    await first.client.exited;
    const db = join(env.dir, ".starling", "sessions", sessionFolderName(env.initParams().sessionId), "db");
    // Root ignores permission bits, so as root the folder becomes a read-only bind mount instead.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const mount = spawnSync("sh", ["-c", `mount --bind "${db}" "${db}" && mount -o remount,bind,ro "${db}"`], { encoding: "utf8" });
      if (mount.status !== 0) return ctx.skip(`cannot mount read-only: ${mount.stderr}`);
      ctx.onTestFinished(() => void spawnSync("umount", [db]));
    } else {
      chmodSync(join(db, "LOCK"), 0o444);
      chmodSync(db, 0o555);
      ctx.onTestFinished(() => chmodSync(db, 0o755));
    }
    const second = env.launch();
    const err = await rpcError(second.client.initialize(env.initParams()));
    expect(err.code).not.toBe(ErrorCodes.StoreLocked);
    expect(err.message).toMatch(asRoot ? /Read-only file system/ : /Permission denied/);
    expect(err.message).toContain(db);
  });

  it("a request id reused while the first request with it is in flight is refused, and the first is answered", async (ctx) => {
    const raw = await initializedRawWorker(ctx);
    const frame = (body: unknown) => {
      const text = JSON.stringify(body);
      return `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    const enqueue = (messageId: string) => ({ jsonrpc: "2.0", id: 7, method: "session/enqueue", params: userMessage(messageId, messageId) });
    // One write: the second arrives before the first is handled.
    raw.writeRaw(frame(enqueue("first")) + frame(enqueue("second")));
    const answers = [await raw.next((m) => m["id"] === 7), await raw.next((m) => m["id"] === 7)];
    expect(answers).toContainEqual(expect.objectContaining({ result: { accepted: true, duplicate: false } }));
    expect(answers).toContainEqual(
      expect.objectContaining({ error: expect.objectContaining({ code: ErrorCodes.InvalidRequest, message: expect.stringMatching(/request id 7 is already in use/) }) }),
    );
    raw.send({ jsonrpc: "2.0", id: 8, method: "session/query", params: { view: "transcript_page", source: "all", offset: 0, limit: 10 } });
    const page = (await raw.next((m) => m["id"] === 8)) as { result: { messages: { messageId?: string }[] } };
    expect(page.result.messages.filter((m) => m.messageId).map((m) => m.messageId)).toEqual(["first"]);
    // Once answered, the id is free again.
    raw.send(enqueue("third"));
    expect(await raw.next((m) => m["id"] === 7)).toMatchObject({ result: { accepted: true, duplicate: false } });
  });

  describe("an initialize workspace the worker cannot use gets InvalidParams naming the problem, and the worker keeps serving", () => {
    async function refused(ctx: TestContext, workspace: string): Promise<WorkerRequestError> {
      const env = await newEnv(ctx);
      const w = env.launch();
      const err = await rpcError(Promise.race([
        w.client.initialize(env.initParams({ workspace })),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("initialize got no answer within 5 s")), 5000)),
      ]));
      expect(err.code).toBe(ErrorCodes.InvalidParams);
      // The same worker then takes a usable workspace.
      expect(await w.client.initialize(env.initParams())).toMatchObject({ protocolVersion: 1 });
      return err;
    }

    it("a file", async (ctx) => {
      const { dir } = await newEnv(ctx);
      const file = join(dir, "a-file");
      writeFileSync(file, "x");
      expect((await refused(ctx, file)).message).toMatch(new RegExp(`${file} is a file, not a folder`));
    });

    it("a fresh folder on a read-only file system", async (ctx) => {
      const { dir } = await newEnv(ctx);
      const ro = join(dir, "ro");
      mkdirSync(ro);
      if (process.getuid?.() === 0) {
        const mount = spawnSync("sh", ["-c", `mount --bind "${ro}" "${ro}" && mount -o remount,bind,ro "${ro}"`], { encoding: "utf8" });
        if (mount.status !== 0) return ctx.skip(`cannot mount read-only: ${mount.stderr}`);
        ctx.onTestFinished(() => void spawnSync("umount", [ro]));
      } else {
        chmodSync(ro, 0o555);
        ctx.onTestFinished(() => chmodSync(ro, 0o755));
      }
      expect((await refused(ctx, ro)).message).toMatch(new RegExp(`cannot create ${ro}/\\.starling: (read-only file system|permission denied)`));
    });

    it("a folder that does not exist (a mistyped path): nothing is created there", async (ctx) => {
      const { dir } = await newEnv(ctx);
      const missing = join(dir, "no-such", "workspace");
      expect((await refused(ctx, missing)).message).toContain(
        `initialize: workspace ${missing} does not exist; create it first (the worker makes only the session folder inside it)`,
      );
      expect(existsSync(join(dir, "no-such"))).toBe(false);
    });

    it("/proc, which takes no session folder", async (ctx) => {
      expect((await refused(ctx, "/proc")).message).toMatch(/cannot create \/proc\/\.starling: \/proc takes no new folders/);
    });
  });
});
