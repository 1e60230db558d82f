import { describe, expect, it } from "vitest";
import { branchProblem, COORDINATE_ACTIONS, describeSkillMd, skillNameProblem, validateSkillMd } from "../src/index.js";

const md = (front: string, body = "Do the thing.\n") => `---\n${front}\n---\n${body}`;

describe("SKILL.md validation (reference §3.10)", () => {
  it("accepts name = folder and a description; plain, quoted and block scalars", () => {
    expect(validateSkillMd(md("name: demo\ndescription: Use when: the user asks"), "demo")).toEqual({
      ok: true,
      name: "demo",
      description: "Use when: the user asks",
      body: "Do the thing.\n",
    });
    expect(validateSkillMd(md(`name: "demo"\ndescription: 'quoted'`), "demo")).toMatchObject({ ok: true, description: "quoted" });
    expect(validateSkillMd(md("name: demo\ndescription: >\n  folded\n  lines\nother: x"), "demo")).toMatchObject({ description: "folded lines" });
    expect(validateSkillMd(md("name: demo\ndescription: |\n  line one\n  line two"), "demo")).toMatchObject({ description: "line one\nline two" });
  });

  it("refuses a description longer than 1024 characters (it is in every system prompt), saying what to do", () => {
    expect(validateSkillMd(md(`name: demo\ndescription: ${"d".repeat(1024)}`), "demo")).toMatchObject({ ok: true });
    expect(validateSkillMd(md(`name: demo\ndescription: ${"d".repeat(200_000)}`), "demo")).toEqual({
      ok: false,
      error: "SKILL.md description is 200000 characters; the limit is 1024 (it is in every system prompt): say when to use the skill there and put the rest in the body",
    });
  });

  it("refuses a name that differs from the folder, naming both", () => {
    const r = validateSkillMd(md("name: demo2\ndescription: x"), "demo");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/"demo2".*"demo"/);
  });

  it("refuses a missing or blank description, a missing name, CRLF and a missing frontmatter", () => {
    expect(validateSkillMd(md("name: demo"), "demo")).toMatchObject({ ok: false, error: expect.stringMatching(/no description/) });
    expect(validateSkillMd(md("name: demo\ndescription:   "), "demo")).toMatchObject({ ok: false, error: expect.stringMatching(/no description/) });
    expect(validateSkillMd(md("description: x"), "demo")).toMatchObject({ ok: false, error: expect.stringMatching(/no name/) });
    expect(validateSkillMd("---\r\nname: demo\r\ndescription: x\r\n---\r\n", "demo")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/must start with YAML frontmatter.*CRLF/),
    });
    expect(validateSkillMd("# Demo\n\ntext", "demo")).toMatchObject({ ok: false, error: expect.stringMatching(/must start with YAML frontmatter/) });
    expect(validateSkillMd("---\nname: demo\ndescription: x\n", "demo")).toMatchObject({ ok: false, error: expect.stringMatching(/not closed/) });
  });

  it("discovery falls back to the first paragraph after headings", () => {
    expect(describeSkillMd("# Title\n\nFirst para\ncontinues.\n\nSecond.")).toEqual({ description: "First para continues." });
    expect(describeSkillMd(md("name: demo", "# H\nBody line\n"))).toEqual({ description: "Body line" });
    expect(describeSkillMd("---\nname: demo\n")).toEqual({ error: expect.stringMatching(/not closed/) });
  });
});

describe("skill names and upstream branches", () => {
  it("names: letters, digits, _ and - only", () => {
    expect(skillNameProblem("web-research_2")).toBeNull();
    expect(skillNameProblem("")).toMatch(/empty/);
    expect(skillNameProblem(" demo")).toMatch(/whitespace/);
    expect(skillNameProblem("../etc")).toMatch(/only letters/);
    expect(skillNameProblem("a/b")).toMatch(/only letters/);
  });

  it("branches: safe refs only", () => {
    expect(branchProblem("main")).toBeNull();
    expect(branchProblem("feature/x")).toBeNull();
    for (const bad of ["-f", "/x", "x/", "x.lock", "a..b", "a//b", "a@b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b"]) {
      expect(branchProblem(bad), bad).not.toBeNull();
    }
  });

  it("the coordinate payloads carry the rules, naming the field", () => {
    const create = COORDINATE_ACTIONS.skill_create.payload.safeParse({ skill_name: "no good" });
    expect(create.success).toBe(false);
    expect(create.error?.issues[0]).toMatchObject({ path: ["skill_name"], message: expect.stringMatching(/only letters/) });
    const up = COORDINATE_ACTIONS.skill_set_upstream.payload.safeParse({ skill_name: "demo", repo_url: "x y", branch: " a..b " });
    expect(up.error?.issues.map((i) => i.path[0])).toEqual(["repo_url", "branch"]);
    expect(COORDINATE_ACTIONS.skill_set_upstream.payload.parse({ skill_name: "demo", repo_url: "/tmp/r.git", branch: " dev " })).toEqual({
      skill_name: "demo",
      repo_url: "/tmp/r.git",
      branch: "dev",
    });
  });
});
