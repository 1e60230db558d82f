import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, makeHarness } from "./helpers.js";

describe("search tools", () => {
  let h: Harness;
  const put = async (rel: string, content: string | Buffer) => {
    await mkdir(join(h.workspace, rel, ".."), { recursive: true });
    await writeFile(join(h.workspace, rel), content);
  };
  beforeEach(async () => {
    h = await makeHarness();
    await put("src/main.ts", "export function main() {\n  return load();\n}\n");
    await put("src/lib/load.ts", "export function load() {\n  // TODO: cache\n  return 42;\n}\n");
    await put("README.md", "# Demo\nTODO: write docs\n");
    await put("node_modules/dep/index.ts", "export function load() {}\n");
    await put(".git/config", "TODO in git\n");
    await put(".hidden", "secret\n");
    await put("img.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0x54, 0x4f, 0x44, 0x4f]));
  });
  afterEach(async () => {
    await h.cleanup();
  });

  describe("glob", () => {
    it("finds files at any depth, newest first, skipping node_modules and .git", async () => {
      await utimes(join(h.workspace, "src/main.ts"), new Date(2020, 1, 1), new Date(2020, 1, 1));
      const result = await h.call("glob", { pattern: "*.ts" });
      expect(result.isError).toBe(false);
      expect(result.content.split("\n")).toEqual(["2 files match *.ts in the workspace:", "src/lib/load.ts", "src/main.ts"]);
    });

    it("matches patterns with folders relative to path, and enters node_modules when asked", async () => {
      expect((await h.call("glob", { pattern: "lib/**/*.ts", path: "src" })).content).toContain("src/lib/load.ts");
      expect((await h.call("glob", { pattern: "**/*.ts", path: "node_modules" })).content).toContain("node_modules/dep/index.ts");
    });

    it("caps results at 100 and says so", async () => {
      for (let i = 0; i < 150; i += 1) await put(`many/f${i}.rs`, "");
      const result = await h.call("glob", { pattern: "**/*.rs" });
      expect(result.details).toMatchObject({ numFiles: 150, truncated: true });
      expect(result.content.split("\n")).toHaveLength(101);
      expect(result.content).toContain("showing the 100 most recent");
    });

    it("errors on a missing folder, a file as path, and no matches is not an error", async () => {
      expect((await h.call("glob", { pattern: "*", path: "nope" })).details?.kind).toBe("not_found");
      expect((await h.call("glob", { pattern: "*", path: "README.md" })).content).toContain("not a directory");
      const none = await h.call("glob", { pattern: "*.java" });
      expect(none).toMatchObject({ isError: false, content: "No files match *.java in the workspace." });
    });
  });

  describe("grep", () => {
    it("returns file:line:text, skipping binary files, node_modules and .git", async () => {
      const result = await h.call("grep", { pattern: "TODO" });
      expect(result.isError).toBe(false);
      expect(result.content.split("\n")).toEqual(["2 matches in 2 files:", "README.md:2:TODO: write docs", "src/lib/load.ts:2:  // TODO: cache"]);
    });

    it("filters with include and path, and supports (?i)", async () => {
      const result = await h.call("grep", { pattern: "function \\w+", include: "*.ts", path: "src" });
      expect(result.content).toContain("src/main.ts:1:export function main() {");
      expect(result.content).toContain("src/lib/load.ts:1:export function load() {");
      expect(result.content).not.toContain("node_modules");
      const ci = await h.call("grep", { pattern: "(?i)todo", include: "*.md" });
      expect(ci.content).toContain("README.md:2:");
      const file = await h.call("grep", { pattern: "return", path: "src/main.ts" });
      expect(file.content).toContain("src/main.ts:2:  return load();");
    });

    it("bounds the number of matches", async () => {
      await put("big.txt", "hit\n".repeat(500));
      const result = await h.call("grep", { pattern: "hit" });
      expect(result.details).toMatchObject({ numMatches: 200, truncated: true });
      expect(result.content).toContain("stopped at 200");
    });

    it("reports an invalid regex clearly", async () => {
      const result = await h.call("grep", { pattern: "(" });
      expect(result.details?.kind).toBe("invalid_arguments");
      expect(result.content).toContain("Invalid regex pattern");
    });
  });

  describe("ls", () => {
    it("lists a tree without hidden entries and without expanding node_modules", async () => {
      const result = await h.call("ls", {});
      expect(result.isError).toBe(false);
      expect(result.content).toBe(
        ["num_entries: 7", "", "- ./", "  - README.md", "  - img.png", "  - node_modules/ (not expanded)", "  - src/", "    - lib/", "      - load.ts", "    - main.ts"].join("\n"),
      );
    });

    it("refuses a file and a missing path", async () => {
      expect((await h.call("ls", { path: "README.md" })).content).toContain("README.md is not a directory");
      expect((await h.call("ls", { path: "missing" })).details?.kind).toBe("not_found");
    });
  });
});
