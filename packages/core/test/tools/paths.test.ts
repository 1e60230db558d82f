import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";
import { killAndWait } from "../../../../test/fakes/kill-and-wait.js";

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

  it("ls marks a symlink without following it: whether an outside path is a folder stays unknown", async () => {
    await mkdir(join(h.outside, "folder"));
    await symlink(join(h.outside, "folder"), join(h.workspace, "to-folder"));
    await symlink(join(h.outside, "secret.txt"), join(h.workspace, "to-file"));
    await symlink(join(h.outside, "missing"), join(h.workspace, "to-nothing"));
    const result = await h.call("ls", {});
    expect(result.isError).toBe(false);
    expect(result.content.split("\n").slice(3)).toEqual(["  - to-file@", "  - to-folder@", "  - to-nothing@"]);
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

  // The file tools run in the worker, outside any sandbox; a tool process can change the workspace while
  // a call runs. A folder swapped for a symlink between the path check and the open must not be followed.
  it("a folder swapped for a symlink while a call runs does not lead file_read, grep, edit or file_write outside", { timeout: 30_000 }, async () => {
    await mkdir(join(h.workspace, "real"));
    await writeFile(join(h.workspace, "real", "f.txt"), "harmless\n");
    await writeFile(join(h.outside, "f.txt"), "top secret\n");
    await symlink(h.outside, join(h.workspace, "evil"));
    await mkdir(join(h.workspace, "d"));
    // The name d is, by turns, the real folder and the link out: rename(2) swaps are atomic, so d always exists.
    const swap = `chdir $ARGV[0]; rmdir "d"; rename("real","d"); while (1) { rename("d","real"); rename("evil","d"); rename("d","evil"); rename("real","d"); }`;
    const swapper = spawn("perl", ["-e", swap, h.workspace], { stdio: "ignore" });
    let leaks = 0;
    let calls = 0;
    try {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        calls += 1;
        const read = await h.call("file_read", { file_path: "d/f.txt" });
        const grep = await h.call("grep", { pattern: "secret", path: "d" });
        const edit = await h.call("edit", { path: "d/f.txt", old_text: "top secret", new_text: "overwritten" });
        const write = await h.call("file_write", { file_path: "d/f.txt", content: "harmless\n" });
        for (const r of [read, grep, edit, write]) if (r.content.includes("top secret") || r.content.includes("overwritten")) leaks += 1;
        if ((await readFile(join(h.outside, "f.txt"), "utf8")) !== "top secret\n") leaks += 1;
      }
    } finally {
      await killAndWait(swapper);
    }
    expect(calls).toBeGreaterThan(20);
    expect(leaks).toBe(0);
    expect(existsSync(join(h.outside, "real"))).toBe(false);
  });
});
