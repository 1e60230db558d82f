import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initialLayout } from "../../src/migrations/0001-initial-layout.js";
import { makeTempDir, removeDir, snapshotTree, writeTree } from "../helpers.js";

describe("migration 0001-initial-layout", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("creates the Starling folders in an empty tree", async () => {
    await initialLayout.up(dir);
    expect(await snapshotTree(dir)).toEqual({
      conversations: "dir",
      logs: "dir",
      rundir: "dir",
      "rundir/.skill": "dir",
      "rundir/shared": "dir",
      state: "dir",
      "state/host": "dir",
    });
  });

  it("keeps existing content and is harmless to run twice", async () => {
    await writeTree(dir, {
      "logs/host.log": "{\"msg\":\"old\"}\n",
      "rundir/.skill/notes/SKILL.md": "---\nname: notes\n---\n",
      "conversations/telegram-000001/hello.txt": "hi",
    });
    await initialLayout.up(dir);
    const first = await snapshotTree(dir, true);
    expect(first["logs/host.log"]).toContain("old");
    expect(first["rundir/.skill/notes/SKILL.md"]).toContain("name: notes");
    expect(first["conversations/telegram-000001/hello.txt"]).toContain("hi");
    expect(first["state/host"]).toBe("dir");
    await initialLayout.up(dir);
    expect(await snapshotTree(dir, true)).toEqual(first);
  });
});
