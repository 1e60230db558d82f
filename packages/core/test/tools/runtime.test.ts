import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { lazyArguments } from "@starling/protocol";
import { defineTool } from "../../src/tools/define-tool.js";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import { type Harness, makeHarness } from "./helpers.js";

describe("ToolRuntime", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("refuses a tool that is not in the catalog", async () => {
    const result = await h.call("frobnicate", {});
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("unknown_tool");
    expect(result.content).toContain('Unknown tool "frobnicate"');
    expect(result.content).toContain("file_read");
    expect(h.runtime.has("frobnicate")).toBe(false);
  });

  it("only runs tools of its own catalog", async () => {
    const only = new ToolRuntime({ workspace: h.workspace, sessionId: "s", coordinate: async () => null, tools: builtinTools().filter((t) => t.readOnly) });
    const result = await only.run({ id: "1", name: "file_write", arguments: JSON.stringify({ file_path: "x", content: "y" }) }, { turnId: 1, signal: new AbortController().signal });
    expect(result.details?.kind).toBe("unknown_tool");
    await only.dispose();
  });

  it("answers invalid JSON with a structured error", async () => {
    const result = await h.call("file_read", "not json");
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("invalid_arguments");
    expect(result.content).toContain("must be JSON");
    expect(result.content).toContain("Received: not json");
  });

  it("refuses arguments that are not an object", async () => {
    const result = await h.call("ls", "[1,2]");
    expect(result.details?.kind).toBe("invalid_arguments");
    expect(result.content).toContain("must be a JSON object");
  });

  it("lists every zod problem as path: problem and echoes the arguments", async () => {
    const result = await h.call("file_read", { offset: 1.5, limit: "ten" });
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("invalid_arguments");
    expect(result.content).toMatch(/- file_path: .*expected string/);
    expect(result.content).toMatch(/- offset: /);
    expect(result.content).toMatch(/- limit: /);
    expect(result.content).toContain('Received: {"offset":1.5,"limit":"ten"}');
  });

  it("treats empty argument text as an empty object", async () => {
    const result = await h.call("ls", "");
    expect(result.isError).toBe(false);
  });

  it("knows which tools are read-only", () => {
    for (const name of ["file_read", "glob", "grep", "ls"]) expect(h.runtime.isReadOnly(name)).toBe(true);
    for (const name of ["file_write", "edit", "apply_patch", "shell", "shell_close"]) expect(h.runtime.isReadOnly(name)).toBe(false);
    expect(h.runtime.isReadOnly("nope")).toBe(false);
  });

  it("bounds long results to head + tail and keeps the full text under .output/", async () => {
    const small = new ToolRuntime({ workspace: h.workspace, sessionId: "s", coordinate: async () => null, maxResultChars: 1_000 });
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`).join("\n");
    await h.call("file_write", { file_path: "big.txt", content: lines });
    const result = await small.run({ id: "big", name: "file_read", arguments: JSON.stringify({ file_path: "big.txt", limit: 500 }) }, { turnId: 1, signal: new AbortController().signal });
    expect(result.isError).toBe(false);
    expect(result.content.length).toBeLessThan(1_200);
    expect(result.content).toContain("1: line 0");
    expect(result.content).toContain("500: line 499");
    const marker = /\[\.\.\. (\d+) characters omitted; full output in (\.output\/file_read\/\S+) \.\.\.\]/.exec(result.content);
    expect(marker).not.toBeNull();
    const full = await readFile(join(h.workspace, marker?.[2] ?? ""), "utf8");
    expect(full).toContain("250: line 249");
    expect(full.length).toBe(result.content.length - (marker?.[0].length ?? 0) - 1 + Number(marker?.[1]));
    expect(result.details?.fullOutput).toBe(marker?.[2]);
    await small.dispose();
  });

  it("never throws: a tool that throws becomes an error result", async () => {
    const boom = defineTool({
      name: "boom",
      description: "Always fails.",
      parameters: lazyArguments(() => z.object({ why: z.string().describe("reason") })),
      readOnly: true,
      async execute(args) {
        throw new TypeError(`exploded: ${args.why}`);
      },
    });
    const rt = new ToolRuntime({ workspace: h.workspace, sessionId: "s", coordinate: async () => null, tools: [boom] });
    const result = await rt.run({ id: "1", name: "boom", arguments: '{"why":"test"}' }, { turnId: 1, signal: new AbortController().signal });
    expect(result).toMatchObject({ isError: true, content: "boom failed: exploded: test" });
    await rt.dispose();
  });

  it("stops waiting for a tool that ignores the abort signal", async () => {
    const stuck = defineTool({
      name: "stuck",
      description: "Never returns.",
      parameters: lazyArguments(() => z.object({})),
      readOnly: true,
      execute: () => new Promise<string>(() => undefined),
    });
    const rt = new ToolRuntime({ workspace: h.workspace, sessionId: "s", coordinate: async () => null, tools: [stuck] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    // The tool never returns: only the abort can end the call.
    const result = await rt.run({ id: "1", name: "stuck", arguments: "{}" }, { turnId: 1, signal: controller.signal });
    expect(result.details?.kind).toBe("aborted");
    await rt.dispose();
  });

  it("does not start a tool when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await h.call("file_write", { file_path: "a.txt", content: "x" }, controller.signal);
    expect(result.details?.kind).toBe("aborted");
    await expect(readFile(join(h.workspace, "a.txt"))).rejects.toThrow();
  });

  it("refuses calls after dispose", async () => {
    await h.runtime.dispose();
    const result = await h.call("ls", {});
    expect(result.isError).toBe(true);
    expect(result.content).toContain("shut down");
  });
});
