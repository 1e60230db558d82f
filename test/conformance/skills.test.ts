// Skills in the real worker: the system prompt lists `.skill/*` (a malformed SKILL.md is reported,
// not fatal), skill_load returns a skill or names the available ones, a loaded skill that changes is
// announced before the next user turn (once), and the persistence tools ask the host with
// validated payloads and show a failed push.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COORDINATE_ACTION_NAMES, type CoordinateParams, type CoordinateResult } from "@starling/protocol";
import type { RecordedRequest, ScriptedToolCall } from "../fakes/openai-server.js";
import { newEnv, toolItems, transcript, userMessage } from "./harness.js";
import { lastMessage, textOf, userTexts, wireMessages } from "./model-script.js";

function writeSkill(workspace: string, name: string, text: string): void {
  mkdirSync(join(workspace, ".skill", name), { recursive: true });
  writeFileSync(join(workspace, ".skill", name, "SKILL.md"), text);
}
const skillMd = (name: string, description: string, body = "Step 1: do it.") => `---\nname: ${name}\ndescription: ${description}\n---\n${body}\n`;
const systemOf = (req: RecordedRequest) => textOf(wireMessages(req).find((m) => m.role === "system"));

/** A new user message `trigger` gets `calls`; after the tool results it answers "done". */
function callsOn(trigger: string, calls: ScriptedToolCall[]) {
  return (req: RecordedRequest) => {
    const last = lastMessage(req);
    if (last?.role === "user" && textOf(last) === trigger) return { toolCalls: calls.map((c, i) => ({ id: `call_${i + 1}`, ...c })) };
    return { text: "done" };
  };
}

describe.concurrent("skills in the worker", () => {
  it("the system prompt lists every skill and reports a malformed one; skill_load returns a skill or names the available ones", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, {
      responder: callsOn("load", [
        { name: "skill_load", arguments: { skill_name: "demo" } },
        { name: "skill_load", arguments: { skill_name: "nosuch" } },
        { name: "skill_load", arguments: { skill_name: "broken" } },
      ]),
    });
    writeSkill(dir, "demo", skillMd("demo", "Use when: the user wants a demo"));
    writeFileSync(join(dir, ".skill", "demo", "example.txt"), "extra file");
    writeSkill(dir, "plain", "# Plain\n\nDoes plain things\nwell.\n");
    writeSkill(dir, "broken", "---\nname: broken\ndescription: never closed\n");
    const w = await start();
    await w.client.enqueue(userMessage("m1", "load"));
    await w.waitForEvent("turn_completed");

    const system = systemOf(fake.requests[0]!);
    expect(system).toContain("- demo: Use when: the user wants a demo");
    expect(system).toContain("- plain: Does plain things well.");
    expect(system).toMatch(/- broken: SKILL\.md frontmatter is not closed/);
    const [loaded, unknown, broken] = toolItems(await transcript(w.client)).results;
    expect(loaded!.isError).toBe(false);
    expect(JSON.parse(loaded!.content)).toMatchObject({
      name: "demo",
      description: "Use when: the user wants a demo",
      folder: ".skill/demo",
      files: ["example.txt"],
      content: skillMd("demo", "Use when: the user wants a demo"),
    });
    expect(unknown).toMatchObject({ isError: true, content: expect.stringContaining('Unknown skill "nosuch". Available skills: broken, demo, plain.') });
    expect(broken).toMatchObject({ isError: true, content: expect.stringMatching(/broken cannot be loaded: SKILL\.md frontmatter is not closed/) });
  });

  it("a skill with a huge description (made by hand) is cut in the system prompt; skill_load gives it uncut", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { responder: callsOn("load", [{ name: "skill_load", arguments: { skill_name: "wordy" } }]) });
    const description = `Use when: ${"words ".repeat(40_000)}`;
    writeSkill(dir, "wordy", skillMd("wordy", description));
    writeSkill(dir, "headed", `# Headed\n\n${"para ".repeat(40_000)}\n`);
    const w = await start();
    await w.client.enqueue(userMessage("m1", "load"));
    await w.waitForEvent("turn_completed");
    const system = systemOf(fake.requests[0]!);
    expect(system.length).toBeLessThan(10_000);
    expect(system).toContain(`- wordy: ${description.slice(0, 1024)}… (cut; skill_load wordy shows all of it)`);
    expect(system).toMatch(/- headed: (para ){200}.*… \(cut; skill_load headed shows all of it\)/);
    const [loaded] = toolItems(await transcript(w.client)).results;
    // The result is long (the tool output limit cuts what the model reads; the rest is saved under .output/).
    expect(loaded).toMatchObject({ isError: false, content: expect.stringContaining(`"description": "${description.slice(0, 2000)}`) });
  });

  it("a workspace with many skills: the prompt lists the first 50 by name and says how many more skill_load reaches", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { responder: callsOn("load", [{ name: "skill_load", arguments: { skill_name: "s059" } }]) });
    const name = (i: number) => `s${String(i).padStart(3, "0")}`;
    for (let i = 0; i < 60; i++) writeSkill(dir, name(i), skillMd(name(i), `Use when: case ${i} ${"detail ".repeat(100)}`));
    for (let i = 0; i < 12; i++) writeSkill(dir, `broken${String(i).padStart(2, "0")}`, "---\nname: x\n");
    const w = await start();
    await w.client.enqueue(userMessage("m1", "load"));
    await w.waitForEvent("turn_completed");
    const system = systemOf(fake.requests[0]!);
    expect(system).toContain("- s000: Use when: case 0 ");
    expect(system).toContain("- s049: Use when: case 49 ");
    expect(system).not.toContain("- s050:");
    expect(system).toContain("- … and 10 more skills, not listed to keep this prompt short: their folders are under .skill/; skill_load loads any of them by name");
    expect(system).toContain("- broken09: SKILL.md frontmatter is not closed");
    expect(system).not.toContain("broken10");
    expect(system).toContain("- … and 2 more; skill_load <name> says what is wrong with each.");
    expect(system.length).toBeLessThan(50 * 1100 + 5000);
    const [loaded] = toolItems(await transcript(w.client)).results;
    expect(loaded).toMatchObject({ isError: false });
    expect(JSON.parse(loaded!.content)).toMatchObject({ name: "s059", description: expect.stringContaining("case 59") });
  });

  it("a loaded skill that changes is announced before the next user turn, once; new skills join the prompt", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { responder: callsOn("load demo", [{ name: "skill_load", arguments: { skill_name: "demo" } }]) });
    writeSkill(dir, "demo", skillMd("demo", "first version"));
    writeSkill(dir, "other", skillMd("other", "never loaded"));
    const w = await start();
    await w.client.enqueue(userMessage("m1", "load demo"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);

    writeSkill(dir, "demo", skillMd("demo", "second version", "Step 1: do it differently."));
    writeSkill(dir, "other", skillMd("other", "changed but never loaded"));
    writeSkill(dir, "fresh", skillMd("fresh", "made between turns"));
    await w.client.enqueue(userMessage("m2", "next"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    const turn2 = fake.requests.find((r) => textOf(lastMessage(r)) === "next")!;
    const notices = userTexts(turn2).filter((t) => t.startsWith("[Runtime Skill Updates]"));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain("The skill demo changed since you loaded it");
    expect(notices[0]).toContain("Step 1: do it differently.");
    expect(notices[0]).not.toContain("other");
    // The notice comes just before the user's message.
    expect(userTexts(turn2).slice(-2)[0]).toBe(notices[0]);
    expect(systemOf(turn2)).toContain("- fresh: made between turns");
    expect(systemOf(turn2)).toContain("- demo: second version");

    rmSync(join(dir, ".skill", "fresh"), { recursive: true });
    await w.client.enqueue(userMessage("m3", "and again"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 3);
    const turn3 = fake.requests.find((r) => textOf(lastMessage(r)) === "and again")!;
    expect(userTexts(turn3).filter((t) => t.startsWith("[Runtime Skill Updates]"))).toHaveLength(1);
    expect(systemOf(turn3)).not.toContain("fresh");

    rmSync(join(dir, ".skill", "demo"), { recursive: true });
    await w.client.enqueue(userMessage("m4", "last"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 4);
    const turn4 = fake.requests.find((r) => textOf(lastMessage(r)) === "last")!;
    expect(userTexts(turn4).at(-2)).toMatch(/The skill demo you loaded was deleted/);
  });

  it("skill_create/update/delete/set_upstream ask the host with validated payloads; a failed push is an error result", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: callsOn("save", [
        { name: "skill_create", arguments: { skill_name: "bad name" } },
        { name: "skill_set_upstream", arguments: { skill_name: "demo", repo_url: "/srv/skills.git", branch: "a..b" } },
        { name: "skill_create", arguments: { skill_name: "demo" } },
        { name: "skill_update", arguments: { skill_name: "demo" } },
      ]),
    });
    const w = await start({ init: { hostActions: [...COORDINATE_ACTION_NAMES] } });
    const seen: CoordinateParams[] = [];
    w.client.onCoordinate(async (params): Promise<CoordinateResult> => {
      seen.push(params);
      if (params.action === "skill_create") return { ok: true, result: { created: true, skill_name: "demo", synced_workspaces: 2 } };
      const push = { configured: true, pushed: false, committed: true, repo_url: "/srv/skills.git", branch: "main", error: "git push failed: denied" };
      return { ok: true, result: { updated: true, skill_name: "demo", synced_workspaces: 2, upstream_push: push } };
    });
    await w.client.enqueue(userMessage("m1", "save"));
    await w.waitForEvent("turn_completed");
    const tools = (fake.requests[0]!.body["tools"] as { function: { name: string } }[]).map((t) => t.function.name);
    expect(tools).toEqual(expect.arrayContaining(["skill_load", "skill_create", "skill_update", "skill_delete", "skill_set_upstream"]));
    const [badName, badBranch, created, updated] = toolItems(await transcript(w.client)).results;
    expect(badName).toMatchObject({ isError: true, content: expect.stringMatching(/skill_name.*only letters, digits, _ and -/) });
    expect(badBranch).toMatchObject({ isError: true, content: expect.stringMatching(/branch.*must not contain \.\./) });
    expect(seen.map((p) => [p.action, p.payload])).toEqual([
      ["skill_create", { skill_name: "demo" }],
      ["skill_update", { skill_name: "demo" }],
    ]);
    expect(created).toMatchObject({ isError: false, content: "Saved skill demo; copied to 2 workspace(s)." });
    expect(updated).toMatchObject({ isError: true, content: expect.stringMatching(/push to \/srv\/skills\.git \(main\) FAILED.*git push failed: denied/) });
  });
});
