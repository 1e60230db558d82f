import { promises as fs } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditFolder } from "../../src/migrations/0003-audit-folder.js";
import { auditLogPath } from "../../src/layout.js";
import { makeTempDir, removeDir, snapshotTree, writeTree } from "../helpers.js";

describe("migration 0003-audit-folder", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("adds audit/ (owner only) to a version 2 tree, keeps the rest, and is harmless to run twice", async () => {
    await writeTree(dir, {
      WORKDIR_VERSION: "2\n",
      "state/host/CURRENT": "x",
      "conversations/tg-000001/notes.txt": "hi",
      "logs/host.log": "{}\n",
    });
    await auditFolder.up(dir);
    const first = await snapshotTree(dir, true);
    expect(first.audit).toBe("dir");
    expect(first["conversations/tg-000001/notes.txt"]).toContain("hi");
    expect((await fs.stat(path.join(dir, "audit"))).mode & 0o777).toBe(0o700);
    await auditFolder.up(dir);
    expect(await snapshotTree(dir, true)).toEqual(first);
  });

  it("keeps existing audit logs", async () => {
    await writeTree(dir, { "audit/tg-000001.jsonl": '{"type":"turn_started"}\n' });
    await auditFolder.up(dir);
    expect(await fs.readFile(auditLogPath(dir, "tg-000001"), "utf8")).toBe('{"type":"turn_started"}\n');
    expect(() => auditLogPath(dir, "../x")).toThrow(/invalid conversation id/);
  });
});
