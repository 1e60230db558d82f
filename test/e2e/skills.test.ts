// Skills end to end through the real CLI: a skill the agent writes and saves with skill_create is
// listed in the system prompt of another conversation (existing or new); skill_set_upstream +
// skill_update commit and push to a local bare repository; the host killed right after the store
// copy (STARLING_CRASH_AT=skill_store) or after the first workspace sync (skill_sync) keeps the
// copy, and the agent's repeated skill_create after the restart completes the save; a skill_delete
// cut off at skill_sync is completed by the agent's repeated call.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { contentText, lastUserText, sleep, useE2E, wireMessages, type E2E } from "./fixture.js";

const skillMd = (name: string, description: string) => `---\nname: ${name}\ndescription: ${description}\n---\nSay hello the ${name} way.\n`;

/** Tool results the model got since the last user message, in order. */
function resultsSinceUser(req: RecordedRequest): string[] {
  const messages = wireMessages(req);
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  return messages.slice(lastUser + 1).filter((m) => m.role === "tool").map(contentText);
}
/** What the user typed (the host puts a "[from … at …]" line before it). */
const asked = (req: RecordedRequest) => lastUserText(req).replace(/^\[from [^\]]*\]\n/, "");
const systemOf = (req: RecordedRequest) => contentText(wireMessages(req).find((m) => m.role === "system") ?? { role: "system" });

/** The agent: writes the staged skill with file_write, then calls the skill tool, then answers with its result. */
function respond(req: RecordedRequest): ScriptedReply {
  const ask = asked(req);
  const done = resultsSinceUser(req);
  const save = /^(create|update) skill (\S+) as (.+)$/.exec(ask);
  if (save) {
    const [, verb, name, description] = save;
    if (done.length === 0) return { toolCalls: [{ name: "file_write", arguments: { file_path: `.skill/${name}/SKILL.md`, content: skillMd(name!, description!) } }] };
    // A call cut off by a host restart says "interrupted … outcome unknown": the agent asks again.
    if (done.length === 1 || (done.length === 2 && done[1]!.includes("interrupted"))) {
      return { toolCalls: [{ name: `skill_${verb}`, arguments: { skill_name: name } }] };
    }
    return { text: `${verb}: ${done.at(-1)}` };
  }
  const del = /^delete skill (\S+)$/.exec(ask);
  if (del) {
    if (done.length === 0 || (done.length === 1 && done[0]!.includes("interrupted"))) return { toolCalls: [{ name: "skill_delete", arguments: { skill_name: del[1] } }] };
    return { text: `delete: ${done.at(-1)}` };
  }
  const upstream = /^upstream (\S+) (\S+)$/.exec(ask);
  if (upstream) {
    if (done.length === 0) return { toolCalls: [{ name: "skill_set_upstream", arguments: { skill_name: upstream[1], repo_url: upstream[2] } }] };
    return { text: `upstream: ${done[0]}` };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chats = { a: privateChat(1001, "Writer"), b: privateChat(1002, "Reader"), c: privateChat(1003, "Late"), crash: privateChat(1004, "Crash") };

useE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } }, (value) => (e2e = value), { keepHost: true });

/** The system prompt of the model request that answered `text`. */
function systemFor(text: string): string {
  const req = [...e2e.model.requests].reverse().find((r) => asked(r) === text);
  if (!req) throw new Error(`no model request for ${JSON.stringify(text)}`);
  return systemOf(req);
}

describe("skills end to end", () => {
  it("skill_create in one conversation: listed in the system prompt of another, running or new", async () => {
    await e2e.hostWith();
    expect(await e2e.ask(chats.b, "hello")).toBe("ok");
    expect(systemFor("hello")).not.toContain("- greet:");

    const created = await e2e.ask(chats.a, "create skill greet as Use when the user wants a greeting", { timeoutMs: 40_000 });
    expect(created).toBe("create: Saved skill greet; copied to 2 workspace(s).");
    expect(existsSync(join(e2e.workdir, "rundir", ".skill", "greet", "SKILL.md"))).toBe(true);

    expect(await e2e.ask(chats.b, "which skills now")).toBe("ok");
    expect(systemFor("which skills now")).toContain("- greet: Use when the user wants a greeting");
    expect(await e2e.ask(chats.c, "first words")).toBe("ok");
    expect(systemFor("first words")).toContain("- greet: Use when the user wants a greeting");
  }, 90_000);

  it("skill_update after skill_set_upstream commits and pushes to a bare repository", async () => {
    await e2e.hostWith();
    const bare = join(e2e.dir, "skills.git");
    execFileSync("git", ["init", "--quiet", "--bare", bare]);
    expect(await e2e.ask(chats.a, `upstream greet ${bare}`, { timeoutMs: 40_000 })).toBe(`upstream: Skill greet will be pushed to ${bare} (main) on each skill_update.`);
    const updated = await e2e.ask(chats.a, "update skill greet as Use for warm greetings", { timeoutMs: 40_000 });
    expect(updated).toBe(`update: Updated skill greet; copied to 3 workspace(s). Committed and pushed to ${bare} (main).`);
    expect(execFileSync("git", ["--git-dir", bare, "show", "main:SKILL.md"], { encoding: "utf8" })).toBe(skillMd("greet", "Use for warm greetings"));
    expect(await e2e.ask(chats.b, "and now")).toBe("ok");
    expect(systemFor("and now")).toContain("- greet: Use for warm greetings");
  }, 90_000);

  for (const point of ["skill_store", "skill_sync"]) {
    it(`the host killed at ${point} during skill_create: after the restart the save completes and every workspace has the skill`, async () => {
      const name = `crash_${point}`;
      const host = await e2e.hostWith({ STARLING_CRASH_AT: point });
      e2e.send(chats.crash, `create skill ${name} as Survives a crash at ${point}`);
      expect(await Promise.race([host.exited, sleep(40_000).then(() => null)])).toEqual({ code: null, signal: "SIGKILL" });
      e2e.start();
      // The copy made before the kill is kept; the repeated skill_create finds the same files and syncs again.
      await e2e.waitText(chats.crash.id, new RegExp(`create: Saved skill ${name}; copied to 4 workspace\\(s\\)`), 40_000);
      for (const conv of ["tg-000001", "tg-000002", "tg-000003", "tg-000004"]) {
        expect(existsSync(join(e2e.workdir, "conversations", conv, ".skill", name, "SKILL.md")), conv).toBe(true);
      }
    }, 90_000);
  }

  it("the host killed at skill_sync during skill_delete: the agent's repeated skill_delete removes the skill from every workspace", async () => {
    const host = await e2e.hostWith({ STARLING_CRASH_AT: "skill_sync" });
    e2e.send(chats.crash, "delete skill greet");
    expect(await Promise.race([host.exited, sleep(40_000).then(() => null)])).toEqual({ code: null, signal: "SIGKILL" });
    e2e.start();
    expect((await e2e.waitText(chats.crash.id, /^delete: /, 40_000)).text).toBe("delete: Deleted skill greet from 4 workspace(s).");
    for (const conv of ["tg-000001", "tg-000002", "tg-000003", "tg-000004"]) {
      expect(existsSync(join(e2e.workdir, "conversations", conv, ".skill", "greet")), conv).toBe(false);
    }
    expect(readdirSync(join(e2e.workdir, "rundir", ".skill")).filter((n) => n.startsWith("greet"))).toEqual([]);
  }, 90_000);
});
