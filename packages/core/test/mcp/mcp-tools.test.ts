// MCP servers as a tool source of the real ToolRuntime, against the fake MCP server (SDK server side)
// as a real child process over stdio and over Streamable HTTP.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createRedactor, mcpServerSpec, type McpServerSpecInput } from "@starling/protocol";
import { McpTools } from "../../src/mcp/mcp-tools.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import { type Harness, processAlive } from "../tools/helpers.js";

const FAKES = resolve(fileURLToPath(import.meta.url), "../../../../../test/fakes/mcp");
const STDIO_SERVER = join(FAKES, "stdio-server.mjs");
const SECRET = "mcp-secret-value-7731-xyz";

let h: Harness | undefined;
let mcp: McpTools | undefined;
let closeHttp: (() => Promise<void>) | undefined;
afterEach(async () => {
  await h?.cleanup();
  await closeHttp?.();
  h = mcp = closeHttp = undefined;
  delete process.env.WORKER_ONLY_VARIABLE;
});

async function setup(spec: Partial<McpServerSpecInput> & Pick<McpServerSpecInput, "transport">, secrets: Record<string, string> = {}) {
  const workspace = await realpath(await mkdtemp(join(tmpdir(), "starling-mcp-")));
  const log = join(workspace, "mcp-log.jsonl");
  const full = mcpServerSpec().parse(
    spec.transport === "stdio"
      ? { command: process.execPath, args: [STDIO_SERVER], ...spec, env: { MCP_LOG: log, ...("env" in spec ? spec.env : {}) } }
      : spec,
  );
  mcp = new McpTools({
    servers: { fake: full },
    workspace,
    sessionId: "test.foreground",
    secrets: { names: Object.keys(secrets), values: Object.values(secrets) },
    secretEnv: secrets,
  });
  const runtime = new ToolRuntime({
    workspace,
    sessionId: "test.foreground",
    coordinate: async () => {
      throw new Error("no host in tests");
    },
    sources: [mcp],
    redactor: createRedactor(secrets),
  });
  let n = 0;
  h = {
    workspace,
    outside: workspace,
    runtime,
    call: (name, args, signal = new AbortController().signal) =>
      runtime.run({ id: `call_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal }),
    cleanup: async () => {
      await runtime.dispose();
      await rm(workspace, { recursive: true, force: true });
    },
  };
  await runtime.prepare(new AbortController().signal);
  const events = () =>
    existsSync(log)
      ? readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; tool: string; pid: number })
      : [];
  return { harness: h, tools: mcp, events };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe("MCP tools over stdio", () => {
  it("offers the server's tools as mcp__<server>__<tool>, runs them, and reports schemas it cannot send", async () => {
    const { harness, tools } = await setup({ transport: "stdio" });
    const names = harness.runtime.catalog().map((t) => t.name);
    expect(names).toContain("mcp__fake__echo");
    expect(names).toContain("file_read");
    expect(names).not.toContain("mcp__fake__bad_schema");
    const status = tools.status()[0]!;
    expect(status.state).toBe("connected");
    expect(status.skipped).toEqual([{ tool: "bad_schema", reason: expect.stringContaining("anyOf") }]);
    expect(harness.runtime.isReadOnly("mcp__fake__echo")).toBe(true);
    expect(harness.runtime.isReadOnly("mcp__fake__write_note")).toBe(false);

    const echo = await harness.call("mcp__fake__echo", { text: "hi there" });
    expect(echo).toMatchObject({ isError: false, content: "echo: hi there" });
    const bad = await harness.call("mcp__fake__echo", { text: 5 });
    expect(bad.isError).toBe(true);
    expect(bad.content).toMatch(/Invalid arguments for mcp__fake__echo:\n- text: must be string/);
    const failed = await harness.call("mcp__fake__fail", {});
    expect(failed).toMatchObject({ isError: true, content: "mcp__fake__fail reported an error: the database is locked" });
  });

  it("returns images as file items saved in the workspace", async () => {
    const { harness } = await setup({ transport: "stdio" });
    const result = await harness.call("mcp__fake__image", {});
    expect(result.isError).toBe(false);
    expect(result.content).toMatch(/a pixel\n\[image saved as \.output\/mcp\/.+\.png\]/);
    expect(result.files).toHaveLength(1);
    const path = fileURLToPath(result.files![0]!.uri);
    expect(readFileSync(path).subarray(1, 4).toString()).toBe("PNG");
  });

  // .output/mcp is in the workspace, where the agent (and commands in bubblewrap) plant links; the worker saves outside any sandbox.
  it("an image is not written through a link planted at its name or in place of .output/mcp", async () => {
    const { harness } = await setup({ transport: "stdio" });
    const outside = await realpath(await mkdtemp(join(tmpdir(), "starling-mcp-outside-")));
    try {
      writeFileSync(join(outside, "victim.png"), "UNTOUCHED");
      mkdirSync(join(harness.workspace, ".output", "mcp"), { recursive: true });
      // The harness names calls call_1, call_2…: the first image of call_1 was saved as call_1-1.png.
      symlinkSync(join(outside, "victim.png"), join(harness.workspace, ".output", "mcp", "call_1-1.png"));
      const first = await harness.call("mcp__fake__image", {});
      expect(first.isError).toBe(false);
      expect(readFileSync(join(outside, "victim.png"), "utf8")).toBe("UNTOUCHED");
      expect(readFileSync(fileURLToPath(first.files![0]!.uri)).subarray(1, 4).toString()).toBe("PNG");

      await rm(join(harness.workspace, ".output", "mcp"), { recursive: true });
      symlinkSync(outside, join(harness.workspace, ".output", "mcp"));
      const second = await harness.call("mcp__fake__image", {});
      expect(readdirSync(outside)).toEqual(["victim.png"]);
      expect(second).toMatchObject({ isError: true, content: expect.stringContaining(".output/mcp in the workspace is a link or not a folder") });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("refreshes the catalog after notifications/tools/list_changed", async () => {
    const { harness } = await setup({ transport: "stdio" });
    expect(harness.runtime.catalog().map((t) => t.name)).not.toContain("mcp__fake__extra");
    await harness.call("mcp__fake__add_tool", {});
    await harness.runtime.prepare(new AbortController().signal);
    expect(harness.runtime.catalog().map((t) => t.name)).toContain("mcp__fake__extra");
    expect(await harness.call("mcp__fake__extra", {})).toMatchObject({ isError: false, content: "extra works" });
  });

  it("a server killed mid-call gives a clear tool error and the next call restarts it", async () => {
    const { harness, tools, events } = await setup({ transport: "stdio" });
    const died = await harness.call("mcp__fake__die", {});
    expect(died.isError).toBe(true);
    expect(died.content).toMatch(/MCP server fake stopped during mcp__fake__die \(the server stopped \(signal SIGKILL.*restarted on the next call/s);
    expect(tools.status()[0]).toMatchObject({ state: "failed", lastError: expect.stringContaining("SIGKILL") });
    expect(await harness.call("mcp__fake__echo", { text: "again" })).toMatchObject({ isError: false, content: "echo: again" });
    expect(tools.status()[0]).toMatchObject({ state: "connected", restarts: 1 });
    const pids = new Set(events().map((e) => e.pid));
    expect(pids.size).toBe(2);
  });

  it("a call past its timeout is cancelled with MCP cancellation and the server keeps serving", async () => {
    const { harness, events } = await setup({ transport: "stdio", timeoutSeconds: 0.5 });
    const hung = await harness.call("mcp__fake__hang", {});
    expect(hung).toMatchObject({ isError: true });
    expect(hung.content).toMatch(/did not answer within 0.5 s and was cancelled; its outcome is unknown/);
    expect(await harness.call("mcp__fake__echo", { text: "still here" })).toMatchObject({ content: "echo: still here" });
    expect(events().filter((e) => e.event === "cancelled").map((e) => e.tool)).toEqual(["hang"]);
  });

  it("an aborted turn cancels the running call on the server", async () => {
    const { harness, events } = await setup({ transport: "stdio" });
    const controller = new AbortController();
    const running = harness.call("mcp__fake__slow", { ms: 60_000 }, controller.signal);
    while (!events().some((e) => e.event === "call" && e.tool === "slow")) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ isError: true, details: expect.objectContaining({ kind: "aborted" }) });
    while (!events().some((e) => e.event === "cancelled")) await new Promise((r) => setTimeout(r, 20));
    expect(events().filter((e) => e.event === "cancelled").map((e) => e.tool)).toEqual(["slow"]);
  });

  it("an aborted turn does not wait for a server that ignores the cancellation", async () => {
    const { harness, events } = await setup({ transport: "stdio", env: { MCP_EXTRA_TOOLS: "1" } });
    const controller = new AbortController();
    const running = harness.call("mcp__fake__stubborn", {}, controller.signal);
    await until(() => events().some((e) => e.event === "call" && e.tool === "stubborn"), 5000);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ isError: true, details: expect.objectContaining({ kind: "aborted" }) });
    // The call itself settled as cancelled (not timed): one that waited for the server's answer (60 s later) would be
    // given up by the runtime after its abort grace instead, with "did not stop within 500 ms".
    expect(result.content).toBe("mcp__fake__stubborn was cancelled (the MCP server was told to stop the call); its outcome is unknown.");
    expect(await harness.call("mcp__fake__echo", { text: "next" })).toMatchObject({ content: "echo: next" });
  });

  it("what the server started in a new session (setsid) is stopped with the server when the session ends", async () => {
    const { harness } = await setup({ transport: "stdio", env: { MCP_EXTRA_TOOLS: "1" } });
    const pid = Number((await harness.call("mcp__fake__daemon", {})).content);
    expect(pid).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(true);
    // A daemon of the server is the server's business between calls: a cancelled call leaves it alone.
    await harness.runtime.dispose();
    await until(() => !processAlive(pid), 3000);
    await new Promise((r) => setTimeout(r, 500));
    expect(processAlive(pid)).toBe(false);
  });

  it("after a worker's kill -9, the next worker of the session stops what the server started in a new session", async () => {
    const { harness } = await setup({ transport: "stdio", env: { MCP_EXTRA_TOOLS: "1" } });
    const pid = Number((await harness.call("mcp__fake__daemon", {})).content);
    expect(processAlive(pid)).toBe(true);
    // The next worker of the session (the previous one did not get to stop anything) reaps on start.
    new McpTools({ servers: {}, workspace: harness.workspace, sessionId: "test.foreground", secrets: { names: [], values: [] }, secretEnv: {} });
    await until(() => !processAlive(pid), 3000);
    expect(processAlive(pid)).toBe(false);
  });

  it("starts the server from the tool environment plus its env and secrets; results are redacted", async () => {
    process.env.WORKER_ONLY_VARIABLE = "x";
    const { harness } = await setup({ transport: "stdio", secretEnv: { MCP_SECRET: "FAKE_MCP_TOKEN" } }, { FAKE_MCP_TOKEN: SECRET });
    const env = (await harness.call("mcp__fake__env_names", {})).content.split(",");
    expect(env).toContain("MCP_SECRET");
    expect(env).toContain("MCP_LOG");
    expect(env).not.toContain("WORKER_ONLY_VARIABLE");
    expect(env).not.toContain("FAKE_MCP_TOKEN");
    const secret = await harness.call("mcp__fake__secret", {});
    expect(secret.content).toContain("the secret is [redacted:FAKE_MCP_TOKEN]");
    expect(secret.content).not.toContain(SECRET);
  });

  it("a server that cannot start is reported in its status, not as a failed turn", async () => {
    const { harness, tools } = await setup({ transport: "stdio", command: "/nonexistent/mcp-server" });
    expect(harness.runtime.catalog().some((t) => t.name.startsWith("mcp__"))).toBe(false);
    expect(tools.status()[0]).toMatchObject({ state: "failed", lastError: expect.stringContaining("could not start") });
  });
});

describe("MCP tools over Streamable HTTP", () => {
  it("round trip with a secret header; the header value never reaches a result", async () => {
    const { startFakeMcpHttp } = (await import(join(FAKES, "http-server.mjs"))) as {
      startFakeMcpHttp: (o: { requiredAuth?: string }) => Promise<{ url: string; close: () => Promise<void> }>;
    };
    const server = await startFakeMcpHttp({ requiredAuth: `Bearer ${SECRET}` });
    closeHttp = server.close;
    const { harness, tools } = await setup(
      { transport: "http", url: server.url, headersEnv: { Authorization: "FAKE_HTTP_AUTH" } },
      { FAKE_HTTP_AUTH: `Bearer ${SECRET}` },
    );
    expect(tools.status()[0]).toMatchObject({ state: "connected", transport: "http" });
    expect(await harness.call("mcp__fake__echo", { text: "over http" })).toMatchObject({ isError: false, content: "echo: over http" });
    const secret = await harness.call("mcp__fake__secret", {});
    expect(secret.content).toContain("the header is [redacted:FAKE_HTTP_AUTH]");
    expect(secret.content).not.toContain(SECRET);
  });

  it("a server answering with an HTTP error status names the status in lastError", async () => {
    const { startFakeMcpHttp } = (await import(join(FAKES, "http-server.mjs"))) as {
      startFakeMcpHttp: (o: { requiredAuth?: string }) => Promise<{ url: string; close: () => Promise<void> }>;
    };
    const server = await startFakeMcpHttp({ requiredAuth: `Bearer ${SECRET}` });
    closeHttp = server.close;
    const { tools } = await setup({ transport: "http", url: server.url, headersEnv: { Authorization: "FAKE_HTTP_AUTH" } }, { FAKE_HTTP_AUTH: "Bearer wrong" });
    expect(tools.status()[0]).toMatchObject({
      state: "failed",
      lastError: 'could not start: HTTP 401 Unauthorized: Error POSTing to endpoint: {"error":"unauthorized"}',
    });
  });
});
