import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TOOL_NAMES } from "@starling/protocol";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const workspace = mkdtempSync(join(tmpdir(), "starling-deny-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe("tools.deny", () => {
  it("every tool core implements is in the protocol's TOOL_NAMES (what the config checks tools.deny against)", () => {
    const listed = new Set<string>(TOOL_NAMES);
    expect(builtinTools().map((t) => t.name).filter((name) => !listed.has(name))).toEqual([]);
  });

  it("a denied tool is not offered and a call to it is an unknown tool", async () => {
    const runtime = new ToolRuntime({ workspace, sessionId: "s", coordinate: async () => null, deny: ["shell", "file_write"] });
    const names = runtime.catalog().map((t) => t.name);
    expect(names).not.toContain("shell");
    expect(names).not.toContain("file_write");
    expect(names).toContain("file_read");
    expect(runtime.has("shell")).toBe(false);
    const result = await runtime.run({ id: "c1", name: "shell", arguments: '{"command":"echo hi"}' }, { turnId: 1, signal: new AbortController().signal });
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("unknown_tool");
    expect(result.content).toMatch(/^Unknown tool "shell": it is not in this session's catalog\. Available tools: .*file_read/);
    expect(result.content).not.toMatch(/Available tools: .*\bshell\b/);
    await runtime.dispose();
  });
});
