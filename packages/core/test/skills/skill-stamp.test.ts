import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { skillStamp } from "../../src/skills/skill-stamp.js";
import { SkillTracker } from "../../src/skills/skill-tracker.js";

const skillMd = (name: string, description: string) => `---\nname: ${name}\ndescription: ${description}\n---\nBody.\n`;
/** Stamps taken "later": files written just now count as settled (see RACY_MS). */
const later = () => Date.now() + 5000;

describe("skill folder stamp (the per-turn change check)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const workspace = () => {
    const d = mkdtempSync(join(tmpdir(), "skill-stamp-"));
    dirs.push(d);
    return d;
  };
  const write = (ws: string, name: string, text: string) => {
    mkdirSync(join(ws, ".skill", name), { recursive: true });
    writeFileSync(join(ws, ".skill", name, "SKILL.md"), text);
  };

  it("changes with every kind of skill change, including a same-size edit in place", () => {
    const ws = workspace();
    expect(skillStamp(ws, later())).toBe("-"); // no .skill folder
    write(ws, "demo", skillMd("demo", "first version"));
    const steps: [string, () => void][] = [
      ["same-size edit in place", () => writeFileSync(join(ws, ".skill", "demo", "SKILL.md"), skillMd("demo", "other version"))],
      ["new skill folder", () => write(ws, "fresh", skillMd("fresh", "new"))],
      ["SKILL.md added to a folder that had none", () => {
        mkdirSync(join(ws, ".skill", "empty"));
      }],
      ["…and then its SKILL.md", () => writeFileSync(join(ws, ".skill", "empty", "SKILL.md"), skillMd("empty", "now a skill"))],
      ["made unreadable", () => chmodSync(join(ws, ".skill", "demo", "SKILL.md"), 0o000)],
      ["replaced by rename", () => {
        writeFileSync(join(ws, "next.md"), skillMd("demo", "renamed in"));
        renameSync(join(ws, "next.md"), join(ws, ".skill", "demo", "SKILL.md"));
      }],
      ["SKILL.md turned into a link", () => {
        writeFileSync(join(ws, "elsewhere.md"), skillMd("fresh", "linked"));
        rmSync(join(ws, ".skill", "fresh", "SKILL.md"));
        symlinkSync(join(ws, "elsewhere.md"), join(ws, ".skill", "fresh", "SKILL.md"));
      }],
      ["the link's target edited", () => writeFileSync(join(ws, "elsewhere.md"), skillMd("fresh", "linkee"))],
      ["skill deleted", () => rmSync(join(ws, ".skill", "empty"), { recursive: true })],
    ];
    let before = skillStamp(ws, later());
    expect(before).not.toBeNull();
    for (const [what, change] of steps) {
      change();
      const after = skillStamp(ws, later());
      expect(after, what).not.toBeNull();
      expect(after, what).not.toBe(before);
      expect(skillStamp(ws, later()), `${what}: stable while nothing changes`).toBe(after);
      before = after;
    }
  });

  it("is not trusted while a file is as new as the timestamp tick (null: read again)", () => {
    const ws = workspace();
    write(ws, "demo", skillMd("demo", "just written"));
    expect(skillStamp(ws)).toBeNull();
    expect(skillStamp(ws, later())).not.toBeNull();
  });

  it("the tracker reads a skill edited in place with the same size after its stamp settled", async () => {
    const ws = workspace();
    write(ws, "demo", skillMd("demo", "first version"));
    const tracker = new SkillTracker(ws);
    // Let the files age past the racy window, so the tracker trusts (and keeps) its stamp.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await tracker.refresh()).skills.map((s) => s.description)).toEqual(["first version"]);
    expect((await tracker.refresh()).skills.map((s) => s.description)).toEqual(["first version"]);
    writeFileSync(join(ws, ".skill", "demo", "SKILL.md"), skillMd("demo", "other version"));
    expect((await tracker.refresh()).skills.map((s) => s.description)).toEqual(["other version"]);
  });
});
