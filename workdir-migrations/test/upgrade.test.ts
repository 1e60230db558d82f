import { promises as fs } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  LATEST_WORKDIR_VERSION,
  type Migration,
  MIGRATIONS,
  readWorkdirVersion,
  upgradeWorkdir,
  WorkdirMigrationError,
  WorkdirTooNewError,
  WorkdirVersionFileError,
} from "../src/index.js";
import { makeTempDir, removeDir, snapshotTree, writeTree } from "./helpers.js";

describe("upgradeWorkdir", () => {
  let base: string;
  beforeEach(async () => {
    base = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(base);
  });

  it("creates a fresh workdir at the latest version", async () => {
    const dir = path.join(base, "new", "workdir");
    const lines: string[] = [];
    const result = await upgradeWorkdir(dir, { log: (line) => lines.push(line) });
    expect(result).toEqual({
      from: 0,
      to: LATEST_WORKDIR_VERSION,
      applied: MIGRATIONS.map((m) => m.name),
      created: true,
      dir,
    });
    expect(await fs.readFile(path.join(dir, "WORKDIR_VERSION"), "utf8")).toBe(`${LATEST_WORKDIR_VERSION}\n`);
    for (const folder of ["state/host", "logs", "rundir/.skill", "rundir/shared", "conversations"]) {
      expect((await fs.stat(path.join(dir, folder))).isDirectory(), folder).toBe(true);
    }
    expect(lines[0]).toContain("creating workdir");
  });

  it("does nothing on a workdir that is already current", async () => {
    const dir = path.join(base, "w");
    await upgradeWorkdir(dir);
    const before = await snapshotTree(dir, true);
    const result = await upgradeWorkdir(dir);
    expect(result).toMatchObject({ from: LATEST_WORKDIR_VERSION, to: LATEST_WORKDIR_VERSION, applied: [], created: false });
    expect(await snapshotTree(dir, true)).toEqual(before);
  });

  it("treats content without WORKDIR_VERSION as version 0 and migrates it", async () => {
    await writeTree(base, {
      STELLA_VERSION: "0.5\n",
      ".log/stellaclaw/conversation_ids.json": JSON.stringify({ next_index_by_channel: {}, mappings: {} }),
      "rundir/.skill/a/SKILL.md": "x",
    });
    const result = await upgradeWorkdir(base);
    expect(result).toMatchObject({ from: 0, created: false, applied: MIGRATIONS.map((m) => m.name) });
    expect(await readWorkdirVersion(base)).toBe(LATEST_WORKDIR_VERSION);
    expect((await fs.stat(path.join(base, "state/import/stellaclaw.json"))).isFile()).toBe(true);
  });

  it("applies only the migrations after the recorded version", async () => {
    await writeTree(base, { WORKDIR_VERSION: "1\n", "rundir/skills/s/SKILL.md": "x" });
    const result = await upgradeWorkdir(base);
    expect(result).toMatchObject({ from: 1, applied: ["0002-import-stellaclaw", "0003-audit-folder"] });
    expect(await fs.readFile(path.join(base, "rundir/.skill/s/SKILL.md"), "utf8")).toBe("x");
  });

  it("refuses a workdir newer than this Starling and leaves it untouched", async () => {
    const newer = LATEST_WORKDIR_VERSION + 5;
    await writeTree(base, { WORKDIR_VERSION: `${newer}\n`, "future/file": "f" });
    const before = await snapshotTree(base, true);
    const error = await upgradeWorkdir(base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkdirTooNewError);
    const message = (error as Error).message;
    expect(message).toContain(`WORKDIR_VERSION ${newer}`);
    expect(message).toContain(`up to ${LATEST_WORKDIR_VERSION}`);
    expect(message).toContain("Upgrade Starling");
    expect(error).toMatchObject({ foundVersion: newer, knownVersion: LATEST_WORKDIR_VERSION });
    expect(await snapshotTree(base, true)).toEqual(before);
  });

  it("rejects a WORKDIR_VERSION that is not a number", async () => {
    await writeTree(base, { WORKDIR_VERSION: "two\n" });
    await expect(upgradeWorkdir(base)).rejects.toBeInstanceOf(WorkdirVersionFileError);
  });

  it("writes the version only after a migration succeeds, and resumes there", async () => {
    const ran: string[] = [];
    let fail = true;
    const migrations: Migration[] = [
      { version: 1, name: "0001-a", up: async () => void ran.push("a") },
      {
        version: 2,
        name: "0002-b",
        up: async (dir) => {
          ran.push("b");
          await fs.writeFile(path.join(dir, "b-partial"), "x");
          if (fail) throw new Error("disk full");
        },
      },
    ];
    const error = await upgradeWorkdir(base, { migrations }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkdirMigrationError);
    expect((error as Error).message).toMatch(/0002-b failed .*disk full.*stays at version 1/);
    expect(await readWorkdirVersion(base)).toBe(1);

    fail = false;
    const result = await upgradeWorkdir(base, { migrations });
    expect(result).toMatchObject({ from: 1, to: 2, applied: ["0002-b"] });
    expect(ran).toEqual(["a", "b", "b"]);
    expect(await readWorkdirVersion(base)).toBe(2);
  });

  it("rejects a migration list with gaps", async () => {
    const migrations: Migration[] = [{ version: 2, name: "0002-x", up: async () => {} }];
    await expect(upgradeWorkdir(base, { migrations })).rejects.toThrow(/expected 1/);
  });
});
