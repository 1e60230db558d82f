// MCP servers that misbehave (test/fakes/mcp/hostile-server.mjs, raw JSON-RPC over stdio), through the
// real McpTools + ToolRuntime.
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createRedactor, McpServerSpec, type McpServerSpecInput } from "@starling/protocol";
import { McpTools } from "../../src/mcp/mcp-tools.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const HOSTILE = resolve(fileURLToPath(import.meta.url), "../../../../../test/fakes/mcp/hostile-server.mjs");

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function setup(mode: string, extra: Partial<McpServerSpecInput> = {}, more: Record<string, string> = {}) {
  const workspace = await realpath(await mkdtemp(join(tmpdir(), "starling-mcp-hostile-")));
  const spec = McpServerSpec.parse({
    transport: "stdio",
    command: process.execPath,
    args: [HOSTILE],
    env: { HOSTILE_MODE: mode, HOSTILE_PIDFILE: join(workspace, "grandchild.pid") },
    ...extra,
  });
  const others = Object.fromEntries(
    Object.entries(more).map(([name, otherMode]) => [name, McpServerSpec.parse({ ...spec, env: { HOSTILE_MODE: otherMode } })]),
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
    await runtime.dispose();
    await rm(workspace, { recursive: true, force: true });
  };
  let n = 0;
  const call = (name: string, args: unknown) => runtime.run({ id: `call_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal: new AbortController().signal });
  await runtime.prepare(new AbortController().signal);
  return { runtime, mcp, call, workspace };
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
    const started = Date.now();
    const crashed = await call("mcp__h__crash", {});
    expect(crashed.isError).toBe(true);
    expect(crashed.content).toMatch(/MCP server h stopped during mcp__h__crash \(the server stopped \(exit code 7\)\)/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(mcp.status()[0]).toMatchObject({ state: "failed" });
    const pidFile = join(workspace, "grandchild.pid");
    expect(existsSync(pidFile)).toBe(true);
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    const deadline = Date.now() + 3_000;
    while (running(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(running(grandchild)).toBe(false);
    expect(await call("mcp__h__echo", { again: 1 })).toMatchObject({ isError: false, content: 'echo {"again":1}' });
    expect(mcp.status()[0]).toMatchObject({ state: "connected", restarts: 1 });
  });

  it("a server that pages tools/list for ever is stopped at 1000 tools, reported, and the turn goes on", async () => {
    const started = Date.now();
    const { runtime, mcp } = await setup("endless-pages");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(runtime.catalog().some((t) => t.name.startsWith("mcp__"))).toBe(false);
    expect(mcp.status()[0]).toMatchObject({ state: "failed", lastError: "could not start: the server lists more than 1000 tools" });
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
});
