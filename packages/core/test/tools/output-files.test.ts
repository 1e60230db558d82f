// Full tool outputs live in the workspace's .output/, where tools (and commands in bubblewrap) can plant files and
// links, while the worker writes and reads them outside any sandbox. A worker started in the same second as an
// earlier one names its first files alike: it must get a new file, never the earlier output and never a link's target.
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import { type Harness, makeHarness } from "./helpers.js";

/** The output store's file-name stamp for `ms` (UTC, to the second). */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
}

/** `make(name)` for the names the first file of `label` would get from now through the next seconds. */
function plantAhead(dir: string, label: string, ext: string, make: (path: string) => void): void {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  for (let s = 0; s < 10; s++) make(join(dir, `${stamp(now + s * 1000)}-1-${label}.${ext}`));
}

describe("tool output files", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("a command's output is its own when an earlier worker's file has the same name (a worker restarted within the second)", async () => {
    plantAhead(join(h.workspace, ".output", "shell"), "sh_1", "log", (path) => writeFileSync(path, "EARLIER-WORKER-OUTPUT\n"));
    const result = await h.call("shell", { command: "echo this-command" });
    expect(result.content).toMatch(/^this-command\n/);
    expect(result.content).not.toContain("EARLIER-WORKER-OUTPUT");
    expect(readFileSync(join(h.workspace, String(result.details?.outPath)), "utf8")).toBe("this-command\n");
  });

  it("a link planted where a command's output file will be is neither written through nor read", async () => {
    const secret = join(h.outside, "secret.txt");
    writeFileSync(secret, "OUTSIDE-SECRET\n");
    plantAhead(join(h.workspace, ".output", "shell"), "sh_1", "log", (path) => symlinkSync(secret, path));
    const result = await h.call("shell", { command: "echo this-command" });
    expect(result.content).toMatch(/^this-command\n/);
    expect(result.content).not.toContain("OUTSIDE-SECRET");
    expect(readFileSync(secret, "utf8")).toBe("OUTSIDE-SECRET\n");
  });

  it("a running command's output file swapped for a link: later polls read what the command wrote, not the link's target", async () => {
    const secret = join(h.outside, "secret.txt");
    writeFileSync(secret, `OUTSIDE-SECRET ${"s".repeat(4000)}\n`);
    const first = await h.call("shell", { command: "echo started; read line; head -c 3000 /dev/zero | tr '\\0' x; echo; echo done:$line", wait_ms: 300 });
    expect(first.details).toMatchObject({ running: true });
    const log = join(h.workspace, String(first.details?.outPath));
    renameSync(log, `${log}.moved`);
    symlinkSync(secret, log);
    const next = await h.call("shell", { session_id: String(first.details?.sessionId), input: "go\n", wait_ms: 10_000 });
    expect(next.content).toContain("done:go");
    expect(next.content).not.toContain("OUTSIDE-SECRET");
  });

  it("a long tool result's full copy is not written through a link planted at its name", async () => {
    const runtime = new ToolRuntime({ workspace: h.workspace, sessionId: "test.foreground", maxResultChars: 100, coordinate: async () => { throw new Error("no host"); } });
    try {
      const target = join(h.outside, "victim.txt");
      writeFileSync(target, "UNTOUCHED\n");
      writeFileSync(join(h.workspace, "big.txt"), "y".repeat(5000));
      plantAhead(join(h.workspace, ".output", "file_read"), "call_planted", "txt", (path) => symlinkSync(target, path));
      const result = await runtime.run({ id: "call_planted", name: "file_read", arguments: JSON.stringify({ file_path: "big.txt" }) }, { turnId: 1, signal: new AbortController().signal });
      expect(result.details).toMatchObject({ truncated: true });
      expect(readFileSync(target, "utf8")).toBe("UNTOUCHED\n");
      const saved = String((result.details as { fullOutput?: string }).fullOutput);
      expect(readFileSync(join(h.workspace, saved), "utf8")).toContain("y".repeat(100));
    } finally {
      await runtime.dispose();
    }
  });
});
