// The host (unsandboxed) copies a saved skill into every other conversation's workspace, where a
// background command of that conversation's agent may swap any entry at any moment. Here a real perl loop
// swaps a workspace's `.skill` (or the skill's copy folder in it) for a link to a host folder while
// skill_update runs again and again: the host must never write, move or remove anything in that folder.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { seedWorkspace } from "../../src/conversations/workspace.js";
import { SkillStore } from "../../src/skills/skill-store.js";
import { killAndWait } from "../../../../test/fakes/kill-and-wait.js";

const RACE_MS = 1000;
const MIN_CALLS = 30;
/** A loaded machine (two perls spinning beside the suite) may need far longer than RACE_MS for MIN_CALLS calls. */
const MAX_RACE_MS = 60_000;
/** renameat2(2) on Linux: RENAME_EXCHANGE swaps two names in one step, so each always exists. */
const RENAMEAT2: Partial<Record<string, number>> = { x64: 316, arm64: 276 };
/** Exchanges `<a>` and the link `<b>`, forever (a failed exchange, `<a>` not there yet, is tried again). */
const SWAP = `chdir $ARGV[0]; my ($a, $b) = ($ARGV[1], $ARGV[2]); while (1) { syscall($ARGV[3], -100, $a, -100, $b, 2); }`;
/** Exchanges every real folder `<a>` that appears (one the host is filling) for a new link to `<b>`'s target. */
const PLANT = `chdir $ARGV[0]; my ($a, $n, $to) = ($ARGV[1], 0, readlink($ARGV[2])); while (1) { if (!-l $a && -d _) { my $l = "planted" . $n++; symlink($to, $l); syscall($ARGV[3], -100, $a, -100, $l, 2); } }`;

const dirs: string[] = [];
const swappers: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(swappers.splice(0).map(killAndWait));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function stage(workspace: string): void {
  const staged = join(workspace, ".skill", "demo");
  mkdirSync(join(staged, "sub"), { recursive: true });
  writeFileSync(join(staged, "SKILL.md"), "---\nname: demo\ndescription: d\n---\nDo it.\n");
  writeFileSync(join(staged, "sub", "inner.txt"), "inner\n");
}

function world() {
  const root = mkdtempSync(join(tmpdir(), "starling-skill-sync-race-"));
  dirs.push(root);
  const workdir = join(root, "workdir");
  const a = seedWorkspace(workdir, "tg-000001");
  const victims = ["tg-000002", "tg-000003"].map((id) => seedWorkspace(workdir, id));
  stage(a);
  const store = new SkillStore(workdir);
  store.create(a, { skill_name: "demo" });
  const outside = join(root, "outside");
  mkdirSync(outside);
  mkdirSync(join(outside, "demo"));
  writeFileSync(join(outside, "demo", "keep.txt"), "host file\n");
  return { a, victims, store, outside };
}

/**
 * Runs skill_update for RACE_MS (at least MIN_CALLS times, within MAX_RACE_MS) with the swappers going; after each call the
 * outside folder must hold only demo/keep.txt. Counts the calls after which it did not (and puts it back).
 */
async function race(w: ReturnType<typeof world>, script: string, swapped: string, call: () => unknown = () => w.store.update(w.a, { skill_name: "demo" })): Promise<{ calls: number; failed: number; escapes: number }> {
  for (const victim of w.victims) {
    const at = join(victim, swapped, "..");
    symlinkSync(w.outside, join(at, "evil"));
    swappers.push(spawn("perl", ["-e", script, at, basename(swapped), "evil", String(RENAMEAT2[process.arch])], { stdio: "ignore" }));
  }
  let calls = 0;
  let escapes = 0;
  let failed = 0;
  const start = Date.now();
  while (Date.now() - start < RACE_MS || (calls < MIN_CALLS && Date.now() - start < MAX_RACE_MS)) {
    calls += 1;
    try {
      await call();
    } catch {
      // A sync that meets an entry swapped for a link may fail; what matters is what happened outside.
      failed += 1;
    }
    const found = readdirSync(w.outside, { recursive: true }).sort();
    if (found.join() !== "demo,demo/keep.txt") {
      escapes += 1;
      rmSync(w.outside, { recursive: true, force: true });
      mkdirSync(join(w.outside, "demo"), { recursive: true });
      writeFileSync(join(w.outside, "demo", "keep.txt"), "host file\n");
    }
  }
  await Promise.all(swappers.splice(0).map(killAndWait));
  return { calls, failed, escapes };
}

describe.runIf(process.platform === "linux" && RENAMEAT2[process.arch])("a workspace swaps its skills folder for a link while the host syncs a skill into it", () => {
  it("`.skill` swapped for a link to a host folder: nothing is written or removed there", { timeout: 30_000 }, async () => {
    const w = world();
    const result = await race(w, SWAP, ".skill");
    console.log(`.skill: ${result.calls} updates (${result.failed} failed), ${result.escapes} wrote into or removed from the outside folder`);
    expect(result.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(result.escapes).toBe(0);
  });

  it("`.skill` swapped for a link while skills are deleted and created: nothing is removed there", { timeout: 30_000 }, async () => {
    const w = world();
    const result = await race(w, SWAP, ".skill", () => {
      w.store.delete({ skill_name: "demo" });
      stage(w.a);
      w.store.create(w.a, { skill_name: "demo" });
    });
    console.log(`delete: ${result.calls} deletes and creates (${result.failed} failed), ${result.escapes} wrote into or removed from the outside folder`);
    expect(result.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(result.escapes).toBe(0);
  });

  it("the copy folder being filled swapped for a link to a host folder: nothing is written there", { timeout: 30_000 }, async () => {
    const w = world();
    const result = await race(w, PLANT, ".skill/demo.tmp-skill-copy");
    console.log(`copy folder: ${result.calls} updates (${result.failed} failed), ${result.escapes} wrote into or removed from the outside folder`);
    expect(result.calls).toBeGreaterThanOrEqual(MIN_CALLS);
    expect(result.escapes).toBe(0);
  });
});
