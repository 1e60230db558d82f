// The agent can make a FIFO anywhere in its workspace (mkfifo in a command, in bubblewrap too). The worker opens files
// there outside any sandbox: an open of a FIFO blocks until the other end is opened, holding one of the four threads
// every file operation of the worker shares. File tools and the model's context files must refuse it instead.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";

describe("special files in the workspace", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    execFileSync("mkfifo", [join(h.workspace, "pipe")]);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("file_read of a FIFO answers that it is not a regular file (before: hung)", async () => {
    const result = await h.call("file_read", { file_path: "pipe" });
    expect(result.isError).toBe(true);
    expect(result.content).toContain("pipe is not a regular file");
  });

  it("file_write to a FIFO answers that it is not a regular file (before: hung)", async () => {
    const result = await h.call("file_write", { file_path: "pipe", content: "hello" });
    expect(result.isError).toBe(true);
    expect(result.content).toContain("pipe is not a regular file");
  });

  it("a context file swapped for a FIFO is refused when the model call reads it (before: hung)", async () => {
    await expect(h.runtime.openFile(join(h.workspace, "pipe"))).rejects.toThrow(/pipe is not a regular file/);
  });

  it("grep of a FIFO named directly answers that it is not a regular file (before: hung)", async () => {
    const result = await h.call("grep", { pattern: "x", path: "pipe" });
    expect(result).toMatchObject({ isError: true, content: expect.stringContaining("pipe is not a regular file") });
  });
});
