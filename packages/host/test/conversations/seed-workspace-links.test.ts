// The host seeds a workspace (attachments/incoming, shared, .skill) at every start of its conversation, outside any
// sandbox; the agent can have replaced `attachments` with a link to any folder meanwhile.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { seedWorkspace, seedWorkspaceAsync } from "../../src/conversations/workspace.js";

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("seeding a workspace whose attachments/ is a link", () => {
  it("makes nothing in the link's folder, and the seed still succeeds", async () => {
    root = mkdtempSync(join(tmpdir(), "starling-seed-"));
    const workdir = join(root, "workdir");
    const outside = join(root, "outside");
    mkdirSync(outside);
    const dir = seedWorkspace(workdir, "tg-1");
    rmSync(join(dir, "attachments"), { recursive: true });
    symlinkSync(outside, join(dir, "attachments"));
    expect(seedWorkspace(workdir, "tg-1")).toBe(dir);
    expect(await seedWorkspaceAsync(workdir, "tg-1")).toBe(dir);
    expect(readdirSync(outside)).toEqual([]);
  });
});
