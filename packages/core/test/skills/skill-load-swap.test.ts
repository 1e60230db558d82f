// skill_load lists a skill's other files. A tool process can swap the skill's folder for a link to a folder outside
// the workspace after SKILL.md was checked and read: the list must not name what is out there. The swap is done
// deterministically, from the checked open of SKILL.md, right after it succeeds. (A folder inside the skill is opened
// through its parent's descriptor without following a link, as the file tools' walks do: ConfinedDir.)
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { skillLoadTool } from "../../src/skills/skill-load.js";
import type { ToolContext } from "../../src/tools/define-tool.js";
import { HiddenFiles } from "../../src/tools/hidden-files.js";
import { WorkspacePaths } from "../../src/tools/workspace-paths.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A workspace with the skill `demo` (SKILL.md, notes.txt, scripts/run.sh) and an outside folder of secret names. */
function setup(): { ws: string; outside: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "skill-load-swap-")));
  dirs.push(base);
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  mkdirSync(join(ws, ".skill", "demo", "scripts"), { recursive: true });
  writeFileSync(join(ws, ".skill", "demo", "SKILL.md"), "---\nname: demo\ndescription: a demo\n---\nDo it.\n");
  writeFileSync(join(ws, ".skill", "demo", "notes.txt"), "notes\n");
  writeFileSync(join(ws, ".skill", "demo", "scripts", "run.sh"), "echo\n");
  mkdirSync(join(outside, "deeper"), { recursive: true });
  writeFileSync(join(outside, "outside-secret-name.txt"), "x");
  writeFileSync(join(outside, "deeper", "outside-deeper-name.txt"), "x");
  return { ws, outside };
}

/** Checked opens as the worker's, and `swap` run once right after the first open succeeds. */
class SwapAfterOpen extends WorkspacePaths {
  constructor(
    workspace: string,
    private swap: (() => void) | null,
    hidden?: HiddenFiles,
  ) {
    super(workspace, undefined, hidden);
  }

  override async open(abs: string, flags: "r"): Promise<FileHandle> {
    const handle = await super.open(abs, flags);
    this.swap?.();
    this.swap = null;
    return handle;
  }
}

async function load(ws: string, swap: () => void, hidden?: HiddenFiles): Promise<string> {
  const paths: WorkspacePaths = new SwapAfterOpen(ws, swap, hidden);
  const ctx = { workspace: ws, paths } as ToolContext;
  try {
    const result = await skillLoadTool.execute({ skill_name: "demo" }, ctx);
    return typeof result === "string" ? result : result.content;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

describe("skill_load's file list after a swap", () => {
  it("lists the skill's own files when nothing is swapped", async () => {
    const { ws } = setup();
    const result = JSON.parse(await load(ws, () => {}));
    expect(result.files).toEqual(["notes.txt", "scripts/run.sh"]);
  });

  it("leaves out what sandbox.hidden_paths hides, as the file tools' walks do", async () => {
    const { ws } = setup();
    const result = JSON.parse(await load(ws, () => {}, new HiddenFiles([join(ws, ".skill", "demo", "scripts")])));
    expect(result.files).toEqual(["notes.txt"]);
  });

  it("a skill folder swapped for a link to an outside folder lists nothing out there", async () => {
    const { ws, outside } = setup();
    const demo = join(ws, ".skill", "demo");
    const text = await load(ws, () => {
      renameSync(demo, join(ws, "moved"));
      symlinkSync(outside, demo);
    });
    expect(text).not.toContain("outside-secret-name");
    expect(text).not.toContain("outside-deeper-name");
    expect(text).toContain('Path ".skill/demo" goes through a symlink to');
  });
});
