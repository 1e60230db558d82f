// The host (unsandboxed) copies a skill the agent staged in its workspace, where a background command of
// the agent may swap any entry at any moment. Here a real perl loop swaps staged entries (rename(2) is
// atomic, so each name always exists) while skill_update runs again and again on real folders: a file for
// a link to a host secret, a folder for a link to a host folder, a small file for one over the size
// limit. Every stored copy is then inspected: none may hold a link, host content or more than the limit.
import { type ChildProcess, spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SKILL_LIMITS } from "@starling/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { seedWorkspace } from "../../src/conversations/workspace.js";
import { SkillStore } from "../../src/skills/skill-store.js";
import { killAndWait } from "../../../../test/fakes/kill-and-wait.js";

const RACE_MS = 2500;
const MIN_CALLS = 40;
/**
 * Swaps each staged `<a>` with `<b>` (outside the staged folder) through `<a>.real`, forever: each rename
 * is atomic, so `<a>` always exists, and between rounds the staged folder is harmless.
 */
const SWAP = `chdir $ARGV[0]; while (1) { for (my $i = 1; $i < @ARGV; $i += 2) { rename($ARGV[$i], "$ARGV[$i].real"); rename($ARGV[$i+1], $ARGV[$i]); rename($ARGV[$i], $ARGV[$i+1]); rename("$ARGV[$i].real", $ARGV[$i]); } }`;

const dirs: string[] = [];
const swappers: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(swappers.splice(0).map(killAndWait));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function world() {
  const root = mkdtempSync(join(tmpdir(), "starling-skill-race-"));
  dirs.push(root);
  const workdir = join(root, "workdir");
  const a = seedWorkspace(workdir, "tg-000001");
  seedWorkspace(workdir, "tg-000002");
  const staged = join(a, ".skill", "demo");
  mkdirSync(join(staged, "sub"), { recursive: true });
  writeFileSync(join(staged, "SKILL.md"), "---\nname: demo\ndescription: d\n---\nDo it.\n");
  writeFileSync(join(staged, "data.txt"), "harmless\n");
  writeFileSync(join(staged, "sub", "inner.txt"), "inner\n");
  const store = new SkillStore(workdir);
  store.create(a, { skill_name: "demo" });
  return { root, a, staged, store, stored: join(workdir, "rundir", ".skill", "demo") };
}

/** Runs skill_update for RACE_MS (at least MIN_CALLS times) with a swapper going; inspects every stored copy. */
async function race(w: ReturnType<typeof world>, pairs: string[], inspect: () => boolean): Promise<{ calls: number; stored: number; escapes: number }> {
  const swapper = spawn("perl", ["-e", SWAP, w.staged, ...pairs], { stdio: "ignore" });
  swappers.push(swapper);
  let calls = 0;
  let stored = 0;
  let escapes = 0;
  const start = Date.now();
  while (Date.now() - start < RACE_MS || (calls < MIN_CALLS && Date.now() - start < 6 * RACE_MS)) {
    calls += 1;
    try {
      await w.store.update(w.a, { skill_name: "demo" });
      stored += 1;
      if (inspect()) escapes += 1;
    } catch (error) {
      // Refusals name the link or the size; anything else is a failure of the test.
      expect(String(error)).toMatch(/is a link or special file|larger than|vanished while it was copied/);
    }
  }
  await killAndWait(swapper);
  return { calls, stored, escapes };
}

describe("staged skill swapped while the host copies it", () => {
  it("a file or folder swapped for a link to the host: no stored copy holds a link or host content", { timeout: 60_000 }, async () => {
    const w = world();
    const outside = join(w.root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "outside-only.txt"), "host secret\n");
    writeFileSync(join(w.root, "secret.txt"), "host secret\n");
    symlinkSync(join(w.root, "secret.txt"), join(w.a, "evil-file"));
    symlinkSync(outside, join(w.a, "evil-dir"));
    const result = await race(w, ["data.txt", "../../evil-file", "sub", "../../evil-dir"], () => {
      const walk = (at: string): string[] => readdirSync(at, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(at, e.name)) : [join(at, e.name)]));
      return walk(w.stored).some((f) => lstatSync(f).isSymbolicLink() || readFileSync(f, "utf8").includes("host secret"));
    });
    console.log(`links: ${result.calls} updates, ${result.stored} stored, ${result.escapes} stored a link or host content`);
    expect(result.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(result.escapes).toBe(0);
  });

  it("a small file swapped for one over the limit: no stored copy is over the limit", { timeout: 60_000 }, async () => {
    const w = world();
    writeFileSync(join(w.a, "huge"), Buffer.alloc(SKILL_LIMITS.totalBytes + 1024 * 1024, 0x61));
    const result = await race(w, ["data.txt", "../../huge"], () => {
      const bytes = readdirSync(w.stored, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).reduce((n, e) => n + lstatSync(join(e.parentPath, e.name)).size, 0);
      return bytes > SKILL_LIMITS.totalBytes;
    });
    console.log(`size: ${result.calls} updates, ${result.stored} stored, ${result.escapes} stored over ${SKILL_LIMITS.totalBytes} bytes`);
    expect(result.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(result.escapes).toBe(0);
  });
});
