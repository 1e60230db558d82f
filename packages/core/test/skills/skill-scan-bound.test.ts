// A workspace with thousands of skills: the turn-start scan reads only what the system prompt lists (the
// first 50 skills, SCAN_FOLDERS_MAX folders at most) and counts the rest; skill_load still reaches any
// skill by name, and a loaded skill past the bound that changes is still announced.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TranscriptMessage } from "@starling/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { skillLoadTool } from "../../src/skills/skill-load.js";
import { SCAN_SKILLS_MAX } from "../../src/skills/skill-scan.js";
import { SkillTracker } from "../../src/skills/skill-tracker.js";
import type { ToolContext } from "../../src/tools/define-tool.js";
import { WorkspacePaths } from "../../src/tools/workspace-paths.js";

const COUNT = 2000;
const name = (i: number) => `s${String(i).padStart(4, "0")}`;
const skillMd = (i: number, version = "first") => `---\nname: ${name(i)}\ndescription: case ${i} (${version})\n---\n${"Step.\n".repeat(600)}`;

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), "skill-scan-bound-"));
  dirs.push(ws);
  const past = new Date(Date.now() - 10_000);
  const write = (folder: string, text: string) => {
    mkdirSync(join(ws, ".skill", folder), { recursive: true });
    writeFileSync(join(ws, ".skill", folder, "SKILL.md"), text);
    utimesSync(join(ws, ".skill", folder, "SKILL.md"), past, past);
  };
  for (let i = 0; i < COUNT; i++) write(name(i), skillMd(i));
  write("zz-broken", "---\nname: zz-broken\n");
  return ws;
}

const loaded = (content: string): TranscriptMessage => ({
  index: 0,
  role: "tool",
  time: new Date().toISOString(),
  content: [{ type: "tool_result", callId: "c1", name: "skill_load", content, isError: false }],
});

describe("a workspace with 2000 skills", () => {
  it("the scan reads the first 50 and counts the rest; a turn start stats only those; skill_load and the change notice still reach the last", { timeout: 30_000 }, async () => {
    const ws = workspace();
    // Past the stamp's racy window (ctime cannot be set back), so unchanged folders are trusted.
    await new Promise((r) => setTimeout(r, 1100));
    const tracker = new SkillTracker(ws);
    let start = performance.now();
    const scan = await tracker.refresh();
    const firstMs = performance.now() - start;
    // The broken folder sorts last: a scan that read every SKILL.md reported it.
    expect(scan.problems).toEqual([]);
    expect(scan.skills.map((s) => s.name)).toEqual(Array.from({ length: SCAN_SKILLS_MAX }, (_, i) => name(i)));
    expect(scan.unread).toBe(COUNT - SCAN_SKILLS_MAX + 1);

    const ctx = { workspace: ws, paths: new WorkspacePaths(ws) } as ToolContext;
    const result = await skillLoadTool.execute({ skill_name: name(COUNT - 1) }, ctx);
    const content = typeof result === "string" ? result : result.content;
    expect(JSON.parse(content)).toMatchObject({ name: name(COUNT - 1), description: `case ${COUNT - 1} (first)` });

    // Settles after the set of stamped folders changed (the scan's, then the loaded skill's).
    const history = [loaded(content)];
    for (let i = 0; i < 3; i++) await tracker.beforeTurn(history);
    const settled = tracker.snapshot;
    start = performance.now();
    expect(await tracker.beforeTurn(history)).toBeNull();
    const checkMs = performance.now() - start;
    // A skill past the bound that was not loaded: nothing the prompt or a notice shows changes, nothing is read.
    writeFileSync(join(ws, ".skill", name(1000), "SKILL.md"), skillMd(1000, "edited"));
    expect(await tracker.beforeTurn(history)).toBeNull();
    expect(tracker.snapshot).toBe(settled);

    writeFileSync(join(ws, ".skill", name(COUNT - 1), "SKILL.md"), skillMd(COUNT - 1, "second"));
    start = performance.now();
    const notice = await tracker.beforeTurn(history);
    const rereadMs = performance.now() - start;
    expect(notice).toContain(`The skill ${name(COUNT - 1)} changed since you loaded it`);
    expect(notice).toContain("(second)");
    console.log(`${COUNT} skills: first scan ${firstMs.toFixed(1)} ms, unchanged turn start ${checkMs.toFixed(2)} ms, re-read after an edit ${rereadMs.toFixed(1)} ms`);
  });
});
