// What a worker's skills scan costs with many skills: N skill folders in a workspace's .skill (SKILL.md of
// BYTES bytes each), then the session-start read (SkillTracker.refresh), the re-read after one skill was
// edited (the turn start after a sync), a turn start with nothing changed (the stamp check), and skill_load's
// look-up of the last skill. Median of ROUNDS.
//   npx tsx test/bench/probe-skill-scan.ts [skills=2000] [bytes=4096] [rounds=5]
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkillTracker } from "../../packages/core/src/skills/skill-tracker.js";
import { skillLoadTool } from "../../packages/core/src/skills/skill-load.js";
import type { ToolContext } from "../../packages/core/src/tools/define-tool.js";
import { WorkspacePaths } from "../../packages/core/src/tools/workspace-paths.js";

const [count = 2000, bytes = 4096, rounds = 5] = process.argv.slice(2).map(Number);
const workspace = mkdtempSync(join(tmpdir(), "starling-skill-scan-"));
const name = (i: number) => `skill-${String(i).padStart(5, "0")}`;
const md = (i: number, edit = 0) => `---\nname: ${name(i)}\ndescription: does thing ${i} (${edit})\n---\n${"Step.\n".repeat(Math.max(1, Math.floor((bytes - 60) / 6)))}`;
for (let i = 0; i < count; i++) {
  mkdirSync(join(workspace, ".skill", name(i)), { recursive: true });
  writeFileSync(join(workspace, ".skill", name(i), "SKILL.md"), md(i));
}
// Older than the stamp's racy window (1 s), so an unchanged folder is trusted.
const past = new Date(Date.now() - 10_000);
const age = (i: number) => utimesSync(join(workspace, ".skill", name(i), "SKILL.md"), past, past);
for (let i = 0; i < count; i++) age(i);
// ctime cannot be set back: wait out the racy window once, so the unchanged check is trusted.
await new Promise((r) => setTimeout(r, 1100));

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const unchanged: number[] = [];
{
  const tracker = new SkillTracker(workspace);
  for (let i = 0; i < 3; i++) await tracker.beforeTurn([]);
  for (let r = 0; r < rounds; r++) unchanged.push(await ms(() => tracker.beforeTurn([])));
}
const first: number[] = [];
const edited: number[] = [];
const load: number[] = [];
let heldBytes = 0;
for (let r = 0; r < rounds; r++) {
  const tracker = new SkillTracker(workspace);
  first.push(await ms(() => tracker.refresh()));
  heldBytes = tracker.snapshot.skills.reduce((n, s) => n + s.content.length, 0);
  writeFileSync(join(workspace, ".skill", name(r), "SKILL.md"), md(r, r + 1));
  age(r);
  edited.push(await ms(() => tracker.beforeTurn([])));
  const ctx = { workspace, paths: new WorkspacePaths(workspace) } as ToolContext;
  load.push(await ms(() => skillLoadTool.execute({ skill_name: name(count - 1) }, ctx)));
}
console.log(`${count} skills of ${bytes} bytes: first read ${median(first).toFixed(1)} ms, unchanged turn start ${median(unchanged).toFixed(2)} ms, re-read after one edit ${median(edited).toFixed(1)} ms, skill_load of the last ${median(load).toFixed(1)} ms, SKILL.md text held ${(heldBytes / 1024).toFixed(0)} KB (median of ${rounds})`);
rmSync(workspace, { recursive: true, force: true });
