import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";

describe("path confinement", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    await writeFile(join(h.outside, "secret.txt"), "top secret\n");
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("refuses .. that leaves the workspace, naming the path", async () => {
    const result = await h.call("file_read", { file_path: "../outside/secret.txt" });
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("path_escape");
    expect(result.content).toContain('"../outside/secret.txt"');
    expect(result.content).toContain("outside the workspace");
    expect(result.content).not.toContain("top secret");
  });

  it("refuses absolute paths outside the workspace", async () => {
    const result = await h.call("file_write", { file_path: join(h.outside, "new.txt"), content: "x" });
    expect(result.details?.kind).toBe("path_escape");
    await expect(readFile(join(h.outside, "new.txt"))).rejects.toThrow();
  });

  it("accepts absolute paths inside the workspace and .. that stays inside", async () => {
    await mkdir(join(h.workspace, "a"));
    expect((await h.call("file_write", { file_path: join(h.workspace, "a", "x.txt"), content: "hi\n" })).isError).toBe(false);
    const read = await h.call("file_read", { file_path: "a/../a/x.txt" });
    expect(read.isError).toBe(false);
    expect(read.content).toContain("1: hi");
  });

  it("refuses a symlinked file that points outside", async () => {
    await symlink(join(h.outside, "secret.txt"), join(h.workspace, "link.txt"));
    const result = await h.call("file_read", { file_path: "link.txt" });
    expect(result.details?.kind).toBe("path_escape");
    expect(result.content).toContain("symlink");
    expect(result.content).not.toContain("top secret");
  });

  it("refuses writing through a symlinked folder that points outside", async () => {
    await symlink(h.outside, join(h.workspace, "escape"));
    const result = await h.call("file_write", { file_path: "escape/pwned.txt", content: "x" });
    expect(result.details?.kind).toBe("path_escape");
    await expect(readFile(join(h.outside, "pwned.txt"))).rejects.toThrow();
    expect((await h.call("ls", { path: "escape" })).details?.kind).toBe("path_escape");
    expect((await h.call("grep", { pattern: "secret", path: "escape" })).details?.kind).toBe("path_escape");
  });

  it("refuses writing through a dangling symlink that points outside", async () => {
    await symlink(join(h.outside, "later.txt"), join(h.workspace, "dangling.txt"));
    const result = await h.call("file_write", { file_path: "dangling.txt", content: "x" });
    expect(result.details?.kind).toBe("path_escape");
    await expect(readFile(join(h.outside, "later.txt"))).rejects.toThrow();
  });

  it("allows shared/ to be a symlink to a folder outside the workspace", async () => {
    await symlink(h.outside, join(h.workspace, "shared"));
    const read = await h.call("file_read", { file_path: "shared/secret.txt" });
    expect(read.isError).toBe(false);
    expect(read.content).toContain("1: top secret");
    const write = await h.call("file_write", { file_path: "shared/notes/n.txt", content: "shared note" });
    expect(write.isError).toBe(false);
    expect(await readFile(join(h.outside, "notes", "n.txt"), "utf8")).toBe("shared note");
    const glob = await h.call("glob", { pattern: "*.txt", path: "shared" });
    expect(glob.content).toContain("shared/secret.txt");
    expect(glob.content).toContain("shared/notes/n.txt");
  });

  it("does not let shared/.. or links inside shared/ escape", async () => {
    await mkdir(join(h.outside, "sharedroot"));
    await symlink(join(h.outside, "sharedroot"), join(h.workspace, "shared"));
    await symlink(join(h.outside, "secret.txt"), join(h.outside, "sharedroot", "leak.txt"));
    expect((await h.call("file_read", { file_path: "shared/../../outside/secret.txt" })).details?.kind).toBe("path_escape");
    const leak = await h.call("file_read", { file_path: "shared/leak.txt" });
    expect(leak.details?.kind).toBe("path_escape");
    expect(leak.content).not.toContain("top secret");
  });

  it("refuses writes into the session database folder .starling/", async () => {
    const result = await h.call("file_write", { file_path: ".starling/sessions/x", content: "x" });
    expect(result.details?.kind).toBe("path_escape");
    expect(result.content).toContain(".starling");
  });
});
