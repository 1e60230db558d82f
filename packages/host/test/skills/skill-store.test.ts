// The skill store on real folders and the system git: validation (reference host §4.10 cases 41 and
// 42), sync to every workspace, upstream pushes to a local bare repository (a failed push reported,
// not thrown), delete, and what a new or refreshed workspace gets.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { seedWorkspace, seedWorkspaceAsync } from "../../src/conversations/workspace.js";
import { SkillStore } from "../../src/skills/skill-store.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function world() {
  const root = mkdtempSync(join(tmpdir(), "starling-skills-"));
  dirs.push(root);
  const workdir = join(root, "workdir");
  const a = seedWorkspace(workdir, "tg-000001");
  const b = seedWorkspace(workdir, "tg-000002");
  return { root, workdir, a, b, store: new SkillStore(workdir) };
}
function stage(workspace: string, name: string, front: string, body = "Do it.\n"): void {
  mkdirSync(join(workspace, ".skill", name), { recursive: true });
  writeFileSync(join(workspace, ".skill", name, "SKILL.md"), `---\n${front}\n---\n${body}`);
}
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

describe("skill store", () => {
  it("create refuses a name that differs from its folder; a valid skill reaches both workspaces", () => {
    const { workdir, a, b, store } = world();
    stage(a, "demo", "name: demo2\ndescription: x");
    expect(() => store.create(a, { skill_name: "demo" })).toThrow(/"demo2" differs from its folder "demo"/);
    expect(existsSync(join(workdir, "rundir", ".skill", "demo"))).toBe(false);

    stage(a, "demo", "name: demo\ndescription: a demo");
    writeFileSync(join(a, ".skill", "demo", "notes.md"), "more");
    expect(store.create(a, { skill_name: "demo" })).toEqual({ created: true, skill_name: "demo", synced_workspaces: 2 });
    expect(readFileSync(join(workdir, "rundir", ".skill", "demo", "notes.md"), "utf8")).toBe("more");
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("description: a demo");
    // A repeat with the same files (a call re-run after a crash) succeeds; different files need skill_update.
    expect(store.create(a, { skill_name: "demo" })).toMatchObject({ created: true });
    writeFileSync(join(a, ".skill", "demo", "notes.md"), "changed");
    expect(() => store.create(a, { skill_name: "demo" })).toThrow(/already exists: call skill_update/);
  });

  it("a workspace the sync cannot change is named, and the others still get the change; a delete can be repeated for it", async () => {
    const { workdir, a, b, store } = world();
    const c = seedWorkspace(workdir, "tg-000003");
    stage(a, "demo", "name: demo\ndescription: v1");
    store.create(a, { skill_name: "demo" });
    // Folders nested deeper than the sync removes (root is not stopped by permissions, so depth it is).
    const nest = (at: string) => mkdirSync(join(at, ...Array.from({ length: 260 }, () => "d")), { recursive: true });
    nest(join(b, ".skill", "demo.old-skill-copy")); // a leftover of a cut-short copy, which the sync clears first
    stage(a, "demo", "name: demo\ndescription: v2");
    const updated = await store.update(a, { skill_name: "demo" });
    // The saving workspace and tg-000003 have it; tg-000002 is named with the reason and keeps v1.
    expect(updated).toMatchObject({ synced_workspaces: 2, sync_failures: [{ conversation: "tg-000002", error: expect.stringMatching(/nested deeper than 256/) }] });
    expect(readFileSync(join(c, ".skill", "demo", "SKILL.md"), "utf8")).toContain("description: v2");
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("description: v1");

    rmSync(join(b, ".skill", "demo.old-skill-copy"), { recursive: true });
    nest(join(b, ".skill", "demo"));
    expect(store.delete({ skill_name: "demo" })).toMatchObject({ synced_workspaces: 2, sync_failures: [{ conversation: "tg-000002" }] });
    expect(existsSync(join(c, ".skill", "demo"))).toBe(false);
    // Fixed by hand, a repeated delete finishes it.
    rmSync(join(b, ".skill", "demo"), { recursive: true });
    expect(store.delete({ skill_name: "demo" })).toEqual({ deleted: true, skill_name: "demo", synced_workspaces: 3 });
  });

  it("refuses a missing folder, links, and skills over the limits", async () => {
    const { root, a, store } = world();
    expect(() => store.create(a, { skill_name: "ghost" })).toThrow(/\.skill\/ghost\/ does not exist in your workspace: write \.skill\/ghost\/SKILL\.md first/);
    stage(a, "linky", "name: linky\ndescription: d");
    writeFileSync(join(root, "secret.txt"), "host secret");
    symlinkSync(join(root, "secret.txt"), join(a, ".skill", "linky", "data.txt"));
    expect(() => store.create(a, { skill_name: "linky" })).toThrow(/\.skill\/linky\/data\.txt is a link or special file/);
    stage(a, "big", "name: big\ndescription: d");
    for (let i = 0; i < 201; i++) writeFileSync(join(a, ".skill", "big", `f${i}.txt`), "x");
    expect(() => store.create(a, { skill_name: "big" })).toThrow(/more than 200 files/);
    await expect(store.update(a, { skill_name: "nothing" })).rejects.toThrow(/no stored skill nothing: use skill_create/);
  });

  it("update commits and pushes to the upstream, keeping the runtime .git; a failed push is reported and the update kept", async () => {
    const { root, workdir, a, b, store } = world();
    const bare = join(root, "skills.git");
    git(root, "init", "--quiet", "--bare", bare);
    stage(a, "demo", "name: demo\ndescription: v1");
    store.create(a, { skill_name: "demo" });
    expect(store.setUpstream({ skill_name: "demo", repo_url: bare })).toEqual({
      configured: true,
      skill_name: "demo",
      repo_url: bare,
      branch: "main",
      push_on_update: true,
    });

    stage(a, "demo", "name: demo\ndescription: v2");
    const first = await store.update(a, { skill_name: "demo" });
    expect(first).toMatchObject({ updated: true, synced_workspaces: 2, upstream_push: { configured: true, committed: true, pushed: true, branch: "main" } });
    expect(git(bare, "show", "main:SKILL.md")).toContain("description: v2");
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v2");
    expect(existsSync(join(b, ".skill", "demo", ".git"))).toBe(false);

    stage(a, "demo", "name: demo\ndescription: v3");
    const second = await store.update(a, { skill_name: "demo" });
    expect(second.upstream_push).toMatchObject({ committed: true, pushed: true });
    // One history: the second push was a fast-forward of the first.
    expect(git(bare, "log", "--format=%s", "main").split("\n")).toEqual(["Update skill demo", "Update skill demo"]);
    expect((await store.update(a, { skill_name: "demo" })).upstream_push).toMatchObject({ committed: false, pushed: true });

    store.setUpstream({ skill_name: "demo", repo_url: join(root, "missing.git"), branch: "dev" });
    stage(a, "demo", "name: demo\ndescription: v4");
    const failed = await store.update(a, { skill_name: "demo" });
    expect(failed.upstream_push).toMatchObject({ configured: true, committed: true, pushed: false, branch: "dev" });
    expect(failed.upstream_push.error).toMatch(/git push failed: .*missing\.git/);
    expect(readFileSync(join(workdir, "rundir", ".skill", "demo", "SKILL.md"), "utf8")).toContain("v4");
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v4");
  });

  it("an upstream record damaged by hand refuses skill_update by name, before the store changes", async () => {
    const { workdir, a, b, store } = world();
    stage(a, "demo", "name: demo\ndescription: v1");
    store.create(a, { skill_name: "demo" });
    store.setUpstream({ skill_name: "demo", repo_url: "/nowhere.git" });
    writeFileSync(join(workdir, "rundir", ".skill_upstreams", "demo.json"), "{not json");
    stage(a, "demo", "name: demo\ndescription: v2");
    await expect(store.update(a, { skill_name: "demo" })).rejects.toThrow(
      /^the upstream record rundir\/\.skill_upstreams\/demo\.json is damaged; call skill_set_upstream for demo again$/,
    );
    // Refused whole: the store and the other workspace still agree on v1.
    expect(readFileSync(join(workdir, "rundir", ".skill", "demo", "SKILL.md"), "utf8")).toContain("v1");
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v1");
    store.setUpstream({ skill_name: "demo", repo_url: "/nowhere.git" });
    expect((await store.update(a, { skill_name: "demo" })).synced_workspaces).toBe(2);
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v2");
  });

  it("delete removes the skill from the store, its upstream record and every workspace", async () => {
    const { workdir, a, b, store } = world();
    stage(a, "demo", "name: demo\ndescription: d");
    store.create(a, { skill_name: "demo" });
    store.setUpstream({ skill_name: "demo", repo_url: "/nowhere.git" });
    expect(store.delete({ skill_name: "demo" })).toEqual({ deleted: true, skill_name: "demo", synced_workspaces: 2 });
    for (const gone of [join(workdir, "rundir", ".skill", "demo"), join(workdir, "rundir", ".skill_upstreams", "demo.json"), join(a, ".skill", "demo"), join(b, ".skill", "demo")]) {
      expect(existsSync(gone), gone).toBe(false);
    }
    expect(() => store.delete({ skill_name: "demo" })).toThrow(/no stored skill demo/);
  });

  it("never follows a workspace's .skill link: no staging through it, no sync or delete into its target", () => {
    const { root, workdir, a, b, store } = world();
    const outside = join(root, "outside");
    mkdirSync(join(outside, "demo"), { recursive: true });
    writeFileSync(join(outside, "demo", "keep.txt"), "not the host's to touch");
    rmSync(join(b, ".skill"), { recursive: true });
    symlinkSync(outside, join(b, ".skill"));
    writeFileSync(join(outside, "demo", "SKILL.md"), "---\nname: demo\ndescription: d\n---\n");
    expect(() => store.create(b, { skill_name: "demo" })).toThrow(/\.skill in your workspace must be a folder \(not a link\)/);

    stage(a, "demo", "name: demo\ndescription: d");
    rmSync(join(outside, "demo", "SKILL.md"));
    expect(store.create(a, { skill_name: "demo" }).synced_workspaces).toBe(1);
    seedWorkspace(workdir, "tg-000002");
    expect(existsSync(join(outside, "demo", "SKILL.md"))).toBe(false);
    expect(store.delete({ skill_name: "demo" }).synced_workspaces).toBe(1);
    expect(readFileSync(join(outside, "demo", "keep.txt"), "utf8")).toBe("not the host's to touch");
  });

  it("a workspace's skill copy (or a planted copy leftover) that links to a host folder: the sync never moves that folder's .git", async () => {
    const { root, a, b, store } = world();
    const repo = join(root, "someones-repo");
    const plant = () => {
      mkdirSync(join(repo, ".git"), { recursive: true });
      writeFileSync(join(repo, ".git", "HEAD"), "ref: refs/heads/main\n");
    };
    plant();
    stage(a, "demo", "name: demo\ndescription: v1");
    store.create(a, { skill_name: "demo" });
    rmSync(join(b, ".skill", "demo"), { recursive: true });
    symlinkSync(repo, join(b, ".skill", "demo"));
    stage(a, "demo", "name: demo\ndescription: v2");
    await store.update(a, { skill_name: "demo" });
    expect(readFileSync(join(repo, ".git", "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
    expect(existsSync(join(b, ".skill", "demo", ".git"))).toBe(false);
    expect(readFileSync(join(b, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v2");

    symlinkSync(repo, join(b, ".skill", "demo.old-skill-copy"));
    stage(a, "demo", "name: demo\ndescription: v3");
    await store.update(a, { skill_name: "demo" });
    expect(readFileSync(join(repo, ".git", "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
    expect(existsSync(join(b, ".skill", "demo", ".git"))).toBe(false);
    expect(existsSync(join(b, ".skill", "demo.old-skill-copy"))).toBe(false);
  });

  it("copies a killed host left half done (in the store and in workspaces) are finished or removed when a workspace is seeded", () => {
    const { workdir, a, b, store } = world();
    stage(a, "demo", "name: demo\ndescription: v1");
    store.create(a, { skill_name: "demo" });
    const runtime = join(workdir, "rundir", ".skill");
    // Killed mid-copy into b: a half-written copy beside the skill.
    mkdirSync(join(b, ".skill", "demo.tmp-skill-copy"));
    writeFileSync(join(b, ".skill", "demo.tmp-skill-copy", "SKILL.md"), "---\nname: de");
    // Killed between the two renames of the store's swap: only the old copy and the complete new one.
    execFileSync("mv", [join(runtime, "demo"), join(runtime, "demo.old-skill-copy")]);
    execFileSync("cp", ["-r", join(a, ".skill", "demo"), join(runtime, "demo.tmp-skill-copy")]);
    writeFileSync(join(runtime, "demo.tmp-skill-copy", "SKILL.md"), "---\nname: demo\ndescription: v2\n---\n");
    seedWorkspace(workdir, "tg-000002");
    expect(readdirSync(join(b, ".skill"))).toEqual(["demo"]);
    const c = seedWorkspace(workdir, "tg-000003");
    expect(readdirSync(runtime)).toEqual(["demo"]);
    expect(readFileSync(join(c, ".skill", "demo", "SKILL.md"), "utf8")).toContain("v2");
  });

  it("a new workspace gets every stored skill; a refreshed one keeps its own edits", () => {
    const { workdir, a, store } = world();
    stage(a, "demo", "name: demo\ndescription: stored");
    store.create(a, { skill_name: "demo" });
    stage(a, "demo", "name: demo\ndescription: edited, not yet saved");
    seedWorkspace(workdir, "tg-000001");
    expect(readFileSync(join(a, ".skill", "demo", "SKILL.md"), "utf8")).toContain("edited, not yet saved");
    const c = seedWorkspace(workdir, "tg-000003");
    expect(readFileSync(join(c, ".skill", "demo", "SKILL.md"), "utf8")).toContain("stored");
  });

  it("a workspace made off the event loop (a new conversation's) has the same folders, link and skills, and a refresh keeps what is there", async () => {
    const { workdir, a, store } = world();
    stage(a, "demo", "name: demo\ndescription: stored");
    store.create(a, { skill_name: "demo" });
    const [d] = await Promise.all([seedWorkspaceAsync(workdir, "tg-000004"), seedWorkspaceAsync(workdir, "tg-000004")]);
    expect(existsSync(join(d!, "attachments", "incoming"))).toBe(true);
    expect(realpathSync(join(d!, "shared"))).toBe(realpathSync(join(workdir, "rundir", "shared")));
    expect(readFileSync(join(d!, ".skill", "demo", "SKILL.md"), "utf8")).toContain("stored");
    // A dangling `shared` link (the user's choice) and an edited skill stay as they are.
    rmSync(join(d!, "shared"));
    symlinkSync(join(workdir, "nowhere"), join(d!, "shared"));
    stage(d!, "demo", "name: demo\ndescription: edited here");
    await seedWorkspaceAsync(workdir, "tg-000004");
    expect(readlinkSync(join(d!, "shared"))).toBe(join(workdir, "nowhere"));
    expect(readFileSync(join(d!, ".skill", "demo", "SKILL.md"), "utf8")).toContain("edited here");
  });
});
