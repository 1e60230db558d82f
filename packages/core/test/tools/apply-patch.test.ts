import { execFileSync, spawnSync } from "node:child_process";
import { chmod, cp, mkdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";

describe("apply_patch", () => {
  let h: Harness;
  const read = (p: string) => readFile(join(h.workspace, p), "utf8");
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("applies a diff -u patch", async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    await writeFile(join(h.workspace, "a.txt"), `${lines.join("\n")}\n`);
    const changed = [...lines];
    changed[2] = "LINE 3";
    changed.splice(15, 1);
    await writeFile(join(h.outside, "new.txt"), `${changed.join("\n")}\n`);
    const patch = spawnSync("diff", ["-u", "--label", "a.txt", "--label", "a.txt", join(h.workspace, "a.txt"), join(h.outside, "new.txt")], { encoding: "utf8" }).stdout;
    expect(patch).toContain("@@");
    const result = await h.call("apply_patch", { patch });
    expect(result.isError).toBe(false);
    expect(result.content).toContain("M a.txt (+1 -2)");
    expect(await read("a.txt")).toBe(`${changed.join("\n")}\n`);
  });

  it("refuses a file over 8 MB before reading it, and changes no file of the patch", async () => {
    await writeFile(join(h.workspace, "small.txt"), "one\n");
    const log = join(h.workspace, "big.log");
    await writeFile(log, "needle\n");
    await truncate(log, 2 * 1024 ** 3); // sparse: 2 GB that take no disk
    const patch = "--- a/small.txt\n+++ b/small.txt\n@@ -1 +1 @@\n-one\n+two\n--- a/big.log\n+++ b/big.log\n@@ -1 +1 @@\n-needle\n+pin\n";
    const result = await h.call("apply_patch", { patch });
    expect(result).toMatchObject({ isError: true, details: { kind: "failed" } });
    expect(result.content).toContain("big.log is 2147483648 bytes; edit and apply_patch take files up to 8 MB (8388608 bytes). Nothing was changed.");
    expect(result.content).toContain("use shell (e.g. sed -i, or patch with the diff)");
    expect(await read("small.txt")).toBe("one\n");
    expect((await stat(log)).size).toBe(2 * 1024 ** 3);
  });

  it("applies a multi-file git diff with create, delete, modify, rename and mode change", async () => {
    const repo = join(h.outside, "repo");
    await mkdir(join(repo, "src"), { recursive: true });
    await writeFile(join(repo, "src", "main.ts"), "export const a = 1;\nexport const b = 2;\n");
    await writeFile(join(repo, "old.txt"), "remove me\n");
    await writeFile(join(repo, "moved.txt"), "alpha\nbeta\ngamma\ndelta\nepsilon\n");
    await writeFile(join(repo, "run.sh"), "echo hi\n");
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: repo, encoding: "utf8" });
    git("init", "-q");
    git("add", "-A");
    git("commit", "-qm", "init");
    await cp(repo, h.workspace, { recursive: true, filter: (src) => !src.includes(".git") });
    await writeFile(join(repo, "src", "main.ts"), "export const a = 1;\nexport const b = 3;\nexport const c = 4;\n");
    await rm(join(repo, "old.txt"));
    await mkdir(join(repo, "docs"));
    await writeFile(join(repo, "docs", "new.md"), "# New\n\ntext\n");
    await rm(join(repo, "moved.txt"));
    await writeFile(join(repo, "renamed.txt"), "alpha\nbeta\ngamma\ndelta\nepsilon!\n");
    await chmod(join(repo, "run.sh"), 0o755);
    git("add", "-A");
    const patch = git("diff", "--cached", "-M");
    expect(patch).toContain("rename from moved.txt");
    expect(patch).toContain("new file mode");
    expect(patch).toContain("deleted file mode");

    const result = await h.call("apply_patch", { patch });
    expect(result.isError, result.content).toBe(false);
    expect(await read("src/main.ts")).toBe("export const a = 1;\nexport const b = 3;\nexport const c = 4;\n");
    expect(await read("docs/new.md")).toBe("# New\n\ntext\n");
    expect(await read("renamed.txt")).toBe("alpha\nbeta\ngamma\ndelta\nepsilon!\n");
    await expect(read("old.txt")).rejects.toThrow();
    await expect(read("moved.txt")).rejects.toThrow();
    expect(execFileSync("stat", ["-c", "%a", join(h.workspace, "run.sh")], { encoding: "utf8" }).trim()).toBe("755");
    expect(result.content).toMatch(/A docs\/new\.md/);
    expect(result.content).toMatch(/D old\.txt/);
    expect(result.content).toMatch(/R moved\.txt -> renamed\.txt/);
  });

  it("recounts hand-written hunks with wrong line counts and line numbers", async () => {
    await writeFile(join(h.workspace, "f.py"), "def f():\n    return 1\n\n\ndef g():\n    return 2\n");
    const patch = ["--- a/f.py", "+++ b/f.py", "@@ -40,7 +40,9 @@", " def g():", "-    return 2", "+    x = 2", "+    return x", ""].join("\n");
    const result = await h.call("apply_patch", { patch });
    expect(result.isError, result.content).toBe(false);
    expect(await read("f.py")).toBe("def f():\n    return 1\n\n\ndef g():\n    x = 2\n    return x\n");
  });

  it("accepts a patch wrapped in a Markdown fence and a bare @@", async () => {
    await writeFile(join(h.workspace, "x.txt"), "a\nb\nc\n");
    const patch = "```diff\n--- x.txt\n+++ x.txt\n@@\n a\n-b\n+B\n c\n```\n";
    const result = await h.call("apply_patch", { patch });
    expect(result.isError, result.content).toBe(false);
    expect(await read("x.txt")).toBe("a\nB\nc\n");
  });

  it("changes nothing when one hunk does not apply, and names the hunk", async () => {
    await writeFile(join(h.workspace, "one.txt"), "1\n2\n3\n");
    await writeFile(join(h.workspace, "two.txt"), "x\ny\nz\n");
    const patch = [
      "--- a/one.txt", "+++ b/one.txt", "@@ -1,3 +1,3 @@", " 1", "-2", "+two", " 3",
      "--- a/two.txt", "+++ b/two.txt", "@@ -1,3 +1,3 @@", " x", "-not there", "+Y", " z", "",
    ].join("\n");
    const result = await h.call("apply_patch", { patch });
    expect(result.isError).toBe(true);
    expect(result.content).toContain("does not apply to two.txt: hunk #1");
    expect(result.content).toContain("not there");
    expect(result.content).toContain("No file was changed");
    expect(await read("one.txt")).toBe("1\n2\n3\n");
  });

  it("refuses a patch that touches ../ and writes nothing outside", async () => {
    const patch = "--- /dev/null\n+++ b/../evil.txt\n@@ -0,0 +1 @@\n+evil\n";
    const result = await h.call("apply_patch", { patch });
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("path_escape");
    await expect(readFile(join(h.workspace, "..", "evil.txt"))).rejects.toThrow();
  });

  it("honours an explicit strip", async () => {
    await writeFile(join(h.workspace, "s.txt"), "old\n");
    const patch = "--- a/s.txt\n+++ b/s.txt\n@@ -1 +1 @@\n-old\n+new\n";
    const p0 = await h.call("apply_patch", { patch, strip: 0 });
    expect(p0.isError).toBe(true);
    expect(p0.content).toContain("Neither b/s.txt nor a/s.txt exists");
    const p1 = await h.call("apply_patch", { patch, strip: 1 });
    expect(p1.isError).toBe(false);
    expect(await read("s.txt")).toBe("new\n");
  });

  it("refuses to create a file that exists, and explains the envelope format is not accepted", async () => {
    await writeFile(join(h.workspace, "e.txt"), "here\n");
    const create = await h.call("apply_patch", { patch: "--- /dev/null\n+++ b/e.txt\n@@ -0,0 +1 @@\n+x\n" });
    expect(create.content).toContain("e.txt already exists");
    const envelope = await h.call("apply_patch", { patch: "*** Begin Patch\n*** Update File: e.txt\n*** End Patch\n" });
    expect(envelope.details?.kind).toBe("invalid_arguments");
    expect(envelope.content).toContain("unified diff");
    const garbage = await h.call("apply_patch", { patch: "hello" });
    expect(garbage.details?.kind).toBe("invalid_arguments");
  });
});
