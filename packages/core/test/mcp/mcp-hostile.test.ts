// MCP servers that misbehave (test/fakes/mcp/hostile-server.mjs, raw JSON-RPC over stdio), through the
// real McpTools + ToolRuntime.
import { getEventListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedactor, mcpServerSpec, type McpServerSpecInput } from "@starling/protocol";
import { McpServerConnection } from "../../src/mcp/mcp-server.js";
import { McpTools } from "../../src/mcp/mcp-tools.js";
import { ChildStdioTransport, MCP_MAX_LINE_BYTES } from "../../src/mcp/stdio-transport.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const HOSTILE = resolve(fileURLToPath(import.meta.url), "../../../../../test/fakes/mcp/hostile-server.mjs");

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function setup(mode: string, extra: Partial<McpServerSpecInput> = {}, more: Record<string, string> = {}) {
  const workspace = await realpath(await mkdtemp(join(tmpdir(), "starling-mcp-hostile-")));
  const spec = mcpServerSpec().parse({
    transport: "stdio",
    command: process.execPath,
    args: [HOSTILE],
    env: {
      HOSTILE_MODE: mode,
      HOSTILE_PIDFILE: join(workspace, "grandchild.pid"),
      HOSTILE_ONCE: join(workspace, "once"),
      HOSTILE_STARTS: join(workspace, "starts"),
    },
    ...extra,
  });
  const others = Object.fromEntries(
    Object.entries(more).map(([name, otherMode]) => [name, mcpServerSpec().parse({ ...spec, env: { HOSTILE_MODE: otherMode } })]),
  );
  const mcp = new McpTools({ servers: { h: spec, ...others }, workspace, sessionId: "hostile", secretEnv: {} });
  const runtime = new ToolRuntime({
    workspace,
    sessionId: "hostile",
    coordinate: async () => {
      throw new Error("no host in tests");
    },
    sources: [mcp],
    redactor: createRedactor({}),
  });
  cleanup = async () => {
    vi.restoreAllMocks();
    await runtime.dispose();
    await rm(workspace, { recursive: true, force: true });
  };
  let n = 0;
  const call = (name: string, args: unknown) => runtime.run({ id: `call_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal: new AbortController().signal });
  const turn = new AbortController().signal;
  await runtime.prepare(turn);
  return { runtime, mcp, call, workspace, turn };
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("hostile MCP servers", () => {
  it("a server that dies while a child of it holds its stdout: the call fails at once, the child is stopped, the next call restarts it", async () => {
    const { call, mcp, workspace } = await setup("default", { timeoutSeconds: 20 });
    const crashed = await call("mcp__h__crash", {});
    expect(crashed.isError).toBe(true);
    // Not timed: a call that waited for the held stdout to close ends at the 20 s call timeout, with another text.
    expect(crashed.content).toMatch(/MCP server h stopped during mcp__h__crash \(the server stopped \(exit code 7\)\)/);
    expect(mcp.status()[0]).toMatchObject({ state: "failed" });
    const pidFile = join(workspace, "grandchild.pid");
    expect(existsSync(pidFile)).toBe(true);
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    const deadline = Date.now() + 30_000; // only a failure detector (test/fakes/wait-limit.ts)
    while (running(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(running(grandchild)).toBe(false);
    expect(await call("mcp__h__echo", { again: 1 })).toMatchObject({ isError: false, content: 'echo {"again":1}' });
    expect(mcp.status()[0]).toMatchObject({ state: "connected", restarts: 1 });
  });

  it("a server that pages tools/list for ever is stopped at 1000 tools, reported, and the turn goes on", async () => {
    const { runtime, mcp, turn } = await setup("endless-pages");
    expect(runtime.catalog().some((t) => t.name.startsWith("mcp__"))).toBe(false);
    // The turn's signal keeps no listener per page (the MCP SDK never removes the one it adds to a request's signal).
    expect(getEventListeners(turn, "abort")).toEqual([]);
    // Not timed: without the cap the listing ends only at the 30 s start limit, which lastError would name instead.
    expect(mcp.status()[0]).toMatchObject({ state: "failed", lastError: "could not start: the server lists more than 1000 tools" });
  });

  it("a server offering 500 tools fills the catalog up to 128 tools in all; the rest is reported with tools.allow as the way to choose", async () => {
    const { runtime, mcp } = await setup("many");
    const catalog = runtime.catalog();
    const builtin = catalog.filter((t) => !t.name.startsWith("mcp__")).length;
    expect(catalog).toHaveLength(128);
    expect(catalog.slice(builtin).map((t) => t.name)).toEqual(Array.from({ length: 128 - builtin }, (_, i) => `mcp__h__t${i}`));
    const status = mcp.status()[0]!;
    expect(status.tools).toHaveLength(128 - builtin);
    expect(status.skipped).toHaveLength(500 - (128 - builtin));
    expect(status.skipped[0]).toEqual({
      tool: `t${128 - builtin}`,
      reason: `over the limit of 128 tools in all (${builtin} built-in, ${128 - builtin} left for MCP servers, filled in config order); list the tools this server should offer in its tools.allow`,
    });
    expect(runtime.has(`mcp__h__t${128 - builtin}`)).toBe(false);
    await cleanup?.();
    cleanup = undefined;

    const chosen = await setup("many", { toolsAllow: ["t7", "t499"] });
    expect(chosen.runtime.catalog().filter((t) => t.name.startsWith("mcp__")).map((t) => t.name)).toEqual(["mcp__h__t7", "mcp__h__t499"]);
    expect(chosen.mcp.status()[0]!.skipped).toEqual([]);
  });

  it("a tool name listed twice, or colliding with another server's after the prefix, is offered once", async () => {
    const { runtime, mcp, call } = await setup("duplicates", {}, { h_: "default" });
    const names = runtime.catalog().map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.startsWith("mcp__"))).toEqual(["mcp__h__same", "mcp__h___echo", "mcp__h___crash", "mcp__h___hang"]);
    const [h, other] = mcp.status();
    expect(h!.tools).toEqual(["mcp__h__same", "mcp__h___echo"]);
    expect(h!.skipped.map((s) => s.tool)).toEqual(["same", "x".repeat(80)]);
    expect(h!.skipped[0]!.reason).toMatch(/more than once/);
    expect(other!.tools).toEqual(["mcp__h___crash", "mcp__h___hang"]);
    expect(other!.skipped).toEqual([{ tool: "echo", reason: "mcp__h___echo is already a tool of MCP server h" }]);
    expect(await call("mcp__h___echo", {})).toMatchObject({ isError: false, content: "echo {}" });
  });

  it("a server writing to stdout without a newline is stopped at the line limit: the call fails, the status names the limit, the next call restarts it", async () => {
    const { call, mcp } = await setup("no-newline", { timeoutSeconds: 20 });
    const flooded = await call("mcp__h__echo", {});
    expect(flooded.isError).toBe(true);
    expect(flooded.content).toMatch(
      /^MCP server h stopped during mcp__h__echo \(the server was stopped: it sent more than 16 MB on stdout without a newline \(the limit for one JSON-RPC message\)\); the call's outcome is unknown\. The server is restarted on the next call\.$/,
    );
    expect(mcp.status()[0]).toMatchObject({ state: "failed", lastError: expect.stringContaining("more than 16 MB on stdout without a newline") });
    expect(await call("mcp__h__echo", { again: 1 })).toMatchObject({ isError: false, content: 'echo {"again":1}' });
    expect(mcp.status()[0]).toMatchObject({ state: "connected", restarts: 1, lastError: null });
  });

  it("a 10 MB result (one line under the limit) still arrives", async () => {
    const { call, mcp } = await setup("huge", { timeoutSeconds: 20 });
    const result = await call("mcp__h__echo", {});
    expect(result.isError).toBe(false);
    expect(mcp.status()[0]).toMatchObject({ state: "connected", lastError: null });
  });

  it("the stdio transport holds at most one line limit of a flooding server's output and kills its process group", async () => {
    const workspace = await realpath(await mkdtemp(join(tmpdir(), "starling-mcp-hostile-")));
    cleanup = () => rm(workspace, { recursive: true, force: true });
    const transport = new ChildStdioTransport({
      program: process.execPath,
      args: [HOSTILE],
      env: { HOSTILE_MODE: "no-newline", HOSTILE_PIDFILE: join(workspace, "grandchild.pid") },
      cwd: workspace,
    });
    const closed = new Promise<void>((r) => (transport.onclose = r));
    let most = 0;
    transport.onerror = () => undefined;
    await transport.start();
    const pid = transport.pid!;
    const sample = setInterval(() => (most = Math.max(most, transport.bufferedBytes())), 1);
    await transport.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: {} } });
    await closed;
    clearInterval(sample);
    expect(transport.failure()).toBe(`it sent more than 16 MB on stdout without a newline (the limit for one JSON-RPC message)`);
    expect(MCP_MAX_LINE_BYTES).toBe(16 * 1024 * 1024);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(MCP_MAX_LINE_BYTES);
    expect(transport.bufferedBytes()).toBe(0);
    expect(transport.exitDescription()).toBe("signal SIGKILL");
    expect(running(pid)).toBe(false);
  });

  it("a server that exits at start shows its exit code beside its stderr in lastError", async () => {
    const { mcp } = await setup("exit-at-start");
    expect(mcp.status()[0]).toMatchObject({
      state: "failed",
      lastError: "could not start: the server stopped (exit code 3; stderr: fatal: HOSTILE_API_KEY is not set)",
    });
  });

  it("a failed start counts once toward the restart backoff: the first retry is at once", async () => {
    const markFailed = vi.spyOn(McpServerConnection.prototype as unknown as { markFailed: (why: string) => void }, "markFailed");
    const { runtime, mcp, workspace } = await setup("exit-at-start");
    const starts = () => readFileSync(join(workspace, "starts"), "utf8").trim().split("\n").length;
    expect(starts()).toBe(1);
    expect(markFailed).toHaveBeenCalledTimes(1);
    // One failure: the next start is not delayed (backoff starts with the second failure).
    await runtime.prepare(new AbortController().signal);
    expect(starts()).toBe(2);
    expect(markFailed).toHaveBeenCalledTimes(2);
    expect(mcp.status()[0]).toMatchObject({ state: "failed", restarts: 1 });
  });
});
