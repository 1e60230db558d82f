import { mkdir, open, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";

describe("file tools", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  describe("file_write + file_read", () => {
    it("creates parent folders and reads numbered lines back", async () => {
      const write = await h.call("file_write", { file_path: "notes/a.txt", content: "one\ntwo\n" });
      expect(write).toMatchObject({ isError: false, details: { filePath: "notes/a.txt", mode: "overwrite", bytesWritten: 8, created: true } });
      const read = await h.call("file_read", { file_path: "notes/a.txt" });
      expect(read.isError).toBe(false);
      expect(read.content).toBe("notes/a.txt (lines 1-2 of 2)\n1: one\n2: two");
      expect(read.details).toMatchObject({ startLine: 1, endLine: 2, totalLines: 2, truncated: false });
    });

    it("appends in append mode", async () => {
      await h.call("file_write", { file_path: "log.txt", content: "a\n" });
      const result = await h.call("file_write", { file_path: "log.txt", content: "b\n", mode: "append" });
      expect(result.content).toContain("Appended log.txt");
      expect(await readFile(join(h.workspace, "log.txt"), "utf8")).toBe("a\nb\n");
    });

    it("rejects an unknown mode", async () => {
      const result = await h.call("file_write", { file_path: "x", content: "y", mode: "truncate" });
      expect(result.details?.kind).toBe("invalid_arguments");
      expect(result.content).toContain("- mode:");
    });

    it("refuses to write over a directory", async () => {
      await mkdir(join(h.workspace, "dir"));
      const result = await h.call("file_write", { file_path: "dir", content: "x" });
      expect(result.isError).toBe(true);
      expect(result.content).toContain("dir is a directory");
    });

    it("reads a window and says how to go on", async () => {
      await writeFile(join(h.workspace, "n.txt"), Array.from({ length: 10 }, (_, i) => `l${i + 1}`).join("\r\n"));
      const read = await h.call("file_read", { file_path: "n.txt", offset: 3, limit: 2 });
      expect(read.content).toBe("n.txt (lines 3-4 of 10)\n3: l3\n4: l4\n[6 more lines: call file_read with offset=5 to continue]");
    });

    it("reports missing files, directories and binary files clearly", async () => {
      const missing = await h.call("file_read", { file_path: "nope/missing.txt" });
      expect(missing).toMatchObject({ isError: true, details: { kind: "not_found" } });
      expect(missing.content).toContain("nope/missing.txt does not exist");
      await mkdir(join(h.workspace, "d"));
      expect((await h.call("file_read", { file_path: "d" })).content).toContain("d is a directory");
      await writeFile(join(h.workspace, "img.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]));
      const binary = await h.call("file_read", { file_path: "img.png" });
      expect(binary.isError).toBe(true);
      expect(binary.content).toContain("binary");
    });

    it("cuts very long lines", async () => {
      await writeFile(join(h.workspace, "wide.txt"), `${"x".repeat(5_000)}\n`);
      const read = await h.call("file_read", { file_path: "wide.txt" });
      expect(read.content).toContain("[3000 more characters]");
    });
  });

  describe("edit", () => {
    beforeEach(async () => {
      await writeFile(join(h.workspace, "code.ts"), "const a = 1;\nconst b = 2;\nconst a2 = 1;\n");
    });

    it("replaces a unique match", async () => {
      const result = await h.call("edit", { path: "code.ts", old_text: "const b = 2;", new_text: "const b = 3;" });
      expect(result).toMatchObject({ isError: false, details: { replacements: 1, firstLine: 2 } });
      expect(await readFile(join(h.workspace, "code.ts"), "utf8")).toBe("const a = 1;\nconst b = 3;\nconst a2 = 1;\n");
    });

    it("fails clearly when old_text is ambiguous, and replaces all with replace_all", async () => {
      const ambiguous = await h.call("edit", { path: "code.ts", old_text: "= 1;", new_text: "= 9;" });
      expect(ambiguous.isError).toBe(true);
      expect(ambiguous.content).toContain("matched 2 locations in code.ts (lines 1, 3)");
      expect(ambiguous.content).toContain("replace_all=true");
      expect(await readFile(join(h.workspace, "code.ts"), "utf8")).toContain("const a = 1;");
      const all = await h.call("edit", { path: "code.ts", old_text: "= 1;", new_text: "= 9;", replace_all: true });
      expect(all.details?.replacements).toBe(2);
      expect(await readFile(join(h.workspace, "code.ts"), "utf8")).toBe("const a = 9;\nconst b = 2;\nconst a2 = 9;\n");
    });

    it("fails clearly when old_text is not found or empty", async () => {
      const missing = await h.call("edit", { path: "code.ts", old_text: "const c", new_text: "x" });
      expect(missing.isError).toBe(true);
      expect(missing.content).toContain("old_text was not found in code.ts");
      const empty = await h.call("edit", { path: "code.ts", old_text: "", new_text: "x" });
      expect(empty.details?.kind).toBe("invalid_arguments");
      const noFile = await h.call("edit", { path: "nope.ts", old_text: "a", new_text: "b" });
      expect(noFile.details?.kind).toBe("not_found");
    });

    it("matches LF old_text in a CRLF file and keeps CRLF", async () => {
      await writeFile(join(h.workspace, "win.txt"), "a\r\nb\r\nc\r\n");
      const result = await h.call("edit", { path: "win.txt", old_text: "a\nb", new_text: "A\nB" });
      expect(result.isError).toBe(false);
      expect(await readFile(join(h.workspace, "win.txt"), "utf8")).toBe("A\r\nB\r\nc\r\n");
    });

    it("refuses a file over 8 MB before reading it, naming its size, the limit and what to use instead", async () => {
      const log = join(h.workspace, "big.log");
      await writeFile(log, "needle\n");
      await truncate(log, 2 * 1024 ** 3); // sparse: 2 GB that take no disk
      const result = await h.call("edit", { path: "big.log", old_text: "needle", new_text: "pin" });
      expect(result).toMatchObject({ isError: true, details: { kind: "failed" } });
      expect(result.content).toContain(
        "big.log is 2147483648 bytes; edit and apply_patch take files up to 8 MB (8388608 bytes). Nothing was changed. " +
          "To change it, use shell (e.g. sed -i, or patch with the diff); file_read with offset and limit reads any part of it.",
      );
      expect((await stat(log)).size).toBe(2 * 1024 ** 3);
      const head = Buffer.alloc(7);
      const file = await open(log);
      await file.read(head, 0, 7, 0);
      await file.close();
      expect(head.toString()).toBe("needle\n");
      // The limit itself: 8 MB is edited, one byte more is not.
      await truncate(log, 8 * 1024 * 1024);
      expect((await h.call("edit", { path: "big.log", old_text: "needle", new_text: "pin___" })).isError).toBe(false);
      await truncate(log, 8 * 1024 * 1024 + 1);
      expect((await h.call("edit", { path: "big.log", old_text: "pin___", new_text: "needle" })).content).toContain("big.log is 8388609 bytes");
    });

    it("requires new_text", async () => {
      const result = await h.call("edit", { path: "code.ts", old_text: "a" });
      expect(result.details?.kind).toBe("invalid_arguments");
      expect(result.content).toContain("- new_text:");
      expect(await readFile(join(h.workspace, "code.ts"), "utf8")).toBe("const a = 1;\nconst b = 2;\nconst a2 = 1;\n");
    });
  });
});
