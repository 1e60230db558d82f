// `sandbox.hidden_paths` inside the workspace or shared/ are hidden from the file tools too, not only from
// bubblewrap's shell commands: in subprocess mode the file tools are the only guard. Real worker over stdio, a
// fake model asking for the calls; a hidden file, a hidden folder, a symlink to a hidden file, a hard link to
// one (by device and inode), and a hidden file in shared/. No result, and no model request, carries a secret.
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { probeBubblewrap, ToolSandbox, type TranscriptMessage } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { modelConfig, newEnv, transcript, userMessage } from "./harness.js";

const SECRET = "hunter2-operator-secret-9d41";
const KEY = "id-key-secret-51c7";
const TEAM = "team-secret-shared-0b3e";
const secrets = [SECRET, KEY, TEAM];
const bwrap = await probeBubblewrap("bwrap");
if (!bwrap.ok) console.warn(`bubblewrap tests skipped: ${bwrap.problem}`);

interface World {
  dir: string;
  shared: string;
  sandbox: ToolSandbox;
}

/** The workspace: secrets.env and keys/ hidden, a symlink and a hard link to secrets.env, a hard link to keys/id.key, shared/team.env hidden. */
function world(dir: string, ctx: { onTestFinished: (fn: () => void) => void }): World {
  const shared = mkdtempSync(join(tmpdir(), "starling-hidden-shared-"));
  ctx.onTestFinished(() => rmSync(shared, { recursive: true, force: true }));
  writeFileSync(join(dir, "secrets.env"), `TOKEN=${SECRET}\n`);
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "keys", "id.key"), `${KEY}\n`);
  symlinkSync("secrets.env", join(dir, "link.env"));
  linkSync(join(dir, "secrets.env"), join(dir, "hard.env"));
  linkSync(join(dir, "keys", "id.key"), join(dir, "key.bak"));
  writeFileSync(join(dir, "notes.txt"), "ordinary notes\nTOKEN=placeholder\n");
  writeFileSync(join(shared, "team.env"), `${TEAM}\n`);
  writeFileSync(join(shared, "readme.txt"), "shared readme\n");
  symlinkSync(shared, join(dir, "shared"));
  const hiddenPaths = [join(dir, "secrets.env"), join(dir, "keys"), join(shared, "team.env")];
  return { dir, shared, sandbox: ToolSandbox.parse({ mode: "subprocess", sharedDir: shared, hiddenPaths }) };
}

const call = (id: string, name: string, args: Record<string, unknown>) => ({ id, name, arguments: args });

/** The tool results of the transcript by call id. */
function results(messages: readonly TranscriptMessage[]): Map<string, { text: string; isError: boolean }> {
  const out = new Map<string, { text: string; isError: boolean }>();
  for (const m of messages) {
    for (const item of m.content) {
      if (item.type !== "tool_result") continue;
      out.set(item.callId, { text: item.content, isError: item.isError });
    }
  }
  return out;
}

/** Neither a secret nor a hidden file's content inlined (base64) is in `text`. */
function expectNoSecret(text: string): void {
  for (const s of secrets) expect(text).not.toContain(s);
  for (const content of [`TOKEN=${SECRET}\n`, `${KEY}\n`, `${TEAM}\n`]) expect(text).not.toContain(Buffer.from(content).toString("base64"));
}

describe("sandbox.hidden_paths and the file tools (subprocess mode)", () => {
  it("no file tool reads, searches, lists, changes or patches a hidden file, through a link either", { timeout: 60_000 }, async (ctx) => {
    const patch = (file: string) => `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-TOKEN=guess\n+TOKEN=changed\n`;
    const calls = [
      call("read_file", "file_read", { file_path: "secrets.env" }),
      call("read_in_folder", "file_read", { file_path: "keys/id.key" }),
      call("read_symlink", "file_read", { file_path: "link.env" }),
      call("read_hardlink", "file_read", { file_path: "hard.env" }),
      call("read_shared", "file_read", { file_path: "shared/team.env" }),
      call("read_folder_hardlink", "file_read", { file_path: "key.bak" }),
      call("grep_all", "grep", { pattern: "TOKEN|secret" }),
      call("grep_hardlink", "grep", { pattern: "TOKEN", path: "hard.env" }),
      call("grep_folder", "grep", { pattern: ".", path: "keys" }),
      call("glob_all", "glob", { pattern: "**/*" }),
      call("ls_root", "ls", {}),
      call("edit_hardlink", "edit", { path: "hard.env", old_text: "TOKEN=", new_text: "X=" }),
      call("write_file", "file_write", { file_path: "secrets.env", content: "overwritten\n" }),
      call("write_hardlink", "file_write", { file_path: "hard.env", content: "overwritten\n" }),
      call("write_in_folder", "file_write", { file_path: "keys/new.key", content: "planted\n" }),
      call("patch_file", "apply_patch", { patch: patch("secrets.env") }),
      call("patch_hardlink", "apply_patch", { patch: patch("hard.env") }),
      call("read_ok", "file_read", { file_path: "notes.txt" }),
    ];
    const { fake, dir, start } = await newEnv(ctx, { replies: [{ toolCalls: calls }, { text: "done" }] });
    const w = world(dir, ctx);
    const worker = await start({ init: { sandbox: w.sandbox } });
    await worker.client.enqueue(userMessage("m1", "find the token"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));

    const refused = ["read_file", "read_in_folder", "read_symlink", "read_hardlink", "read_shared", "read_folder_hardlink", "grep_hardlink", "grep_folder", "edit_hardlink", "write_file", "write_hardlink", "write_in_folder", "patch_file", "patch_hardlink"];
    for (const id of refused) {
      const r = got.get(id);
      expect(r, id).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    }
    expect(got.get("read_hardlink")?.text).toContain(`hard.env is a hard link to ${join(dir, "secrets.env")}`);
    expect(got.get("read_folder_hardlink")?.text).toContain(`key.bak is a hard link to ${join(dir, "keys", "id.key")}`);
    // Searches pass hidden files over (the hard link's content too) and find the rest.
    expect(got.get("grep_all")).toMatchObject({ isError: false, text: expect.stringContaining("notes.txt:2:TOKEN=placeholder") });
    expect(got.get("grep_all")?.text).not.toMatch(/secrets\.env|keys\/id\.key|hard\.env|team\.env/);
    const globbed = got.get("glob_all")?.text ?? "";
    expect(globbed).toContain("notes.txt");
    expect(globbed).not.toMatch(/secrets\.env|id\.key/);
    expect(got.get("ls_root")?.text).toContain("keys/ (hidden by sandbox.hidden_paths)");
    expect(got.get("ls_root")?.text).not.toContain("id.key");
    expect(got.get("read_ok")).toMatchObject({ isError: false, text: expect.stringContaining("ordinary notes") });

    // Nothing was changed, nothing planted; and no result nor request to the model carried a secret.
    expect(readFileSync(join(dir, "secrets.env"), "utf8")).toBe(`TOKEN=${SECRET}\n`);
    expect(readFileSync(join(dir, "keys", "id.key"), "utf8")).toBe(`${KEY}\n`);
    expect(() => readFileSync(join(dir, "keys", "new.key"))).toThrow(/ENOENT/);
    for (const r of got.values()) expectNoSecret(r.text);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });

  it("a SKILL.md that is a link to a hidden file is neither loaded nor listed in the system prompt", { timeout: 60_000 }, async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { replies: [{ toolCalls: [call("load_link", "skill_load", { skill_name: "leak" }), call("load_hard", "skill_load", { skill_name: "hard" })] }, { text: "done" }] });
    const w = world(dir, ctx);
    // A symlink the agent can make in bubblewrap mode too (the worker, outside the sandbox, reads what it leads to).
    mkdirSync(join(dir, ".skill", "leak"), { recursive: true });
    symlinkSync("../../secrets.env", join(dir, ".skill", "leak", "SKILL.md"));
    mkdirSync(join(dir, ".skill", "hard"), { recursive: true });
    linkSync(join(dir, "keys", "id.key"), join(dir, ".skill", "hard", "SKILL.md"));
    const worker = await start({ init: { sandbox: w.sandbox } });
    await worker.client.enqueue(userMessage("m1", "load the skills"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));
    for (const id of ["load_link", "load_hard"]) expect(got.get(id), id).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    for (const r of got.values()) expectNoSecret(r.text);
    expect(fake.requests.length).toBe(2);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });

  it("a file item naming a hard link to a hidden file is not sent to the model", { timeout: 60_000 }, async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { replies: [{ text: "seen" }] });
    const w = world(dir, ctx);
    const worker = await start({ init: { sandbox: w.sandbox, model: { ...modelConfig(fake.url), capabilities: ["chat", "file_in"] } as never } });
    const file = (name: string) => ({ type: "file" as const, uri: pathToFileURL(join(dir, name)).href, name, mediaType: "text/plain" });
    await worker.client.enqueue({ messageId: "f", kind: "user", message: { role: "user", content: [{ type: "text", text: "look" }, file("hard.env"), file("link.env"), file("notes.txt")] } });
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const body = JSON.stringify(fake.requests[0]?.body);
    expectNoSecret(body);
    expect(body).toContain("hidden by sandbox.hidden_paths");
    // The ordinary file went, inlined.
    expect(body).toContain(Buffer.from("ordinary notes\nTOKEN=placeholder\n").toString("base64"));
  });
});

/** The workspace with secrets nested one folder down: private/secret.env in it, team/team.env in shared/. */
function nestedWorld(dir: string, mode: "subprocess" | "bubblewrap", ctx: { onTestFinished: (fn: () => void) => void }): ToolSandbox {
  const shared = mkdtempSync(join(tmpdir(), "starling-hidden-shared-"));
  ctx.onTestFinished(() => rmSync(shared, { recursive: true, force: true }));
  mkdirSync(join(dir, "private"));
  writeFileSync(join(dir, "private", "secret.env"), `TOKEN=${SECRET}\n`);
  mkdirSync(join(shared, "team"));
  writeFileSync(join(shared, "team", "team.env"), `${TEAM}\n`);
  symlinkSync(shared, join(dir, "shared"));
  return ToolSandbox.parse({ mode, sharedDir: shared, hiddenPaths: [join(dir, "private", "secret.env"), join(shared, "team", "team.env")] });
}

// The mask covered the file, not its folder: `mv private moved` took the file out from under it, the listed path no
// longer existed, and the next command (and file_read) read moved/secret.env.
describe.skipIf(!bwrap.ok)("a hidden path nested in the workspace or shared/ (bubblewrap mode)", () => {
  it("cannot be renamed, removed or linked away: the next command and the file tools still see nothing", { timeout: 60_000 }, async (ctx) => {
    const escape = [
      // Unmounting the masks needs CAP_SYS_ADMIN: a worker running as root gave it to every command (bwrap keeps a
      // root caller's capabilities unless told to drop them), and this printed the secrets.
      "umount private/secret.env shared/team/team.env private 2>&1",
      "cat private/secret.env shared/team/team.env 2>&1",
      "mv private moved",
      `/usr/bin/python3 -c 'import os; os.rename("private", "moved2")'`,
      "mv private/secret.env private/x",
      "rm -f private/secret.env",
      "ln private/secret.env hard.env",
      "mv shared/team shared/moved-team",
      "echo tried",
    ].join("; ");
    const look = "cat private/secret.env moved/secret.env moved2/secret.env private/x hard.env shared/team/team.env shared/moved-team/team.env 2>&1; ls -R";
    const replies = [
      { toolCalls: [call("escape", "shell", { command: escape })] },
      { toolCalls: [call("look", "shell", { command: look })] },
      { toolCalls: [call("read_moved", "file_read", { file_path: "moved/secret.env" }), call("read_listed", "file_read", { file_path: "private/secret.env" }), call("read_team", "file_read", { file_path: "shared/moved-team/team.env" })] },
      { text: "done" },
    ];
    const { fake, dir, start } = await newEnv(ctx, { replies });
    const sandbox = nestedWorld(dir, "bubblewrap", ctx);
    const worker = await start({ init: { sandbox } });
    await worker.client.enqueue(userMessage("m1", "find the token"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));
    for (const [id, r] of got) expect(r.text, id).not.toContain(SECRET);

    const tried = got.get("escape")?.text ?? "";
    expect(tried).toContain("tried");
    expect(tried).toContain("mv: cannot move 'private' to 'moved': Device or resource busy");
    expect(tried).toContain("[Errno 16] Device or resource busy: 'private' -> 'moved2'");
    expect(tried).toContain("mv: cannot move 'private/secret.env' to 'private/x': Device or resource busy");
    expect(tried).toContain("rm: cannot remove 'private/secret.env': Device or resource busy");
    expect(tried).toContain("ln: failed to create hard link 'hard.env' => 'private/secret.env': Invalid cross-device link");
    expect(tried).toContain("mv: cannot move 'shared/team' to 'shared/moved-team': Device or resource busy");
    // Everything is where it was, the secrets unchanged.
    expect(readFileSync(join(dir, "private", "secret.env"), "utf8")).toBe(`TOKEN=${SECRET}\n`);
    expect(readFileSync(join(sandbox.sharedDir ?? "", "team", "team.env"), "utf8")).toBe(`${TEAM}\n`);
    expect(got.get("look")?.text).toContain("private");
    for (const id of ["read_moved", "read_team"]) expect(got.get(id), id).toMatchObject({ isError: true });
    expect(got.get("read_listed")).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    for (const r of got.values()) expectNoSecret(r.text);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });
});

// In subprocess mode nothing masks a command, so a command moves the folder freely; the file tools still know the
// hidden file by device and inode, from a lookup before that command ran (the next lookup, a second later, no longer
// finds it at the listed path).
describe("a hidden file moved away by a command (subprocess mode)", () => {
  it("is still refused by the file tools at its new path", { timeout: 60_000 }, async (ctx) => {
    const replies = [
      { toolCalls: [call("move", "shell", { command: "mv private moved && mv shared/team shared/moved-team && sleep 1.2 && echo moved" })] },
      { toolCalls: [call("read_moved", "file_read", { file_path: "moved/secret.env" }), call("read_team", "file_read", { file_path: "shared/moved-team/team.env" }), call("grep_all", "grep", { pattern: "TOKEN|secret", path: "moved" })] },
      { text: "done" },
    ];
    const { fake, dir, start } = await newEnv(ctx, { replies });
    const worker = await start({ init: { sandbox: nestedWorld(dir, "subprocess", ctx) } });
    await worker.client.enqueue(userMessage("m1", "find the token"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));
    expect(got.get("move")?.text).toContain("moved");
    expect(readFileSync(join(dir, "moved", "secret.env"), "utf8")).toBe(`TOKEN=${SECRET}\n`);
    for (const id of ["read_moved", "read_team"]) {
      expect(got.get(id), id).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    }
    expect(got.get("read_moved")?.text).toContain(`moved/secret.env is the file listed as ${join(dir, "private", "secret.env")}`);
    for (const r of got.values()) expectNoSecret(r.text);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });
});

// A listed path that goes through a symlink the agent can rewrite was masked where the link led at each command:
// `ln -sfn elsewhere link` (or `ln -sfn / shared`, the workspace's own link to shared/) unmasked the old target
// for the next command, which read it.
describe.skipIf(!bwrap.ok)("a hidden path listed through a symlink the agent can rewrite (bubblewrap mode)", () => {
  it("stays masked at every real path it led to after the link is repointed", { timeout: 60_000 }, async (ctx) => {
    const repoint = "mkdir -p elsewhere && ln -sfn elsewhere link && ln -sfn /nowhere shared && echo repointed";
    const look = `cat real/secret.env real/keys/id.key 2>&1; ls real/keys; cat ${"$SHARED"}/team/team.env 2>&1; mv real moved 2>&1; cat moved/secret.env 2>&1; echo looked`;
    const replies = [
      { toolCalls: [call("repoint", "shell", { command: repoint })] },
      { toolCalls: [call("look", "shell", { command: look })] },
      { toolCalls: [call("read_key", "file_read", { file_path: "real/keys/id.key" }), call("read_secret", "file_read", { file_path: "real/secret.env" })] },
      { text: "done" },
    ];
    const { fake, dir, start } = await newEnv(ctx, { replies });
    const shared = mkdtempSync(join(tmpdir(), "starling-hidden-shared-"));
    ctx.onTestFinished(() => rmSync(shared, { recursive: true, force: true }));
    mkdirSync(join(dir, "real", "keys"), { recursive: true });
    writeFileSync(join(dir, "real", "secret.env"), `TOKEN=${SECRET}\n`);
    writeFileSync(join(dir, "real", "keys", "id.key"), `${KEY}\n`);
    symlinkSync("real", join(dir, "link"));
    mkdirSync(join(shared, "team"));
    writeFileSync(join(shared, "team", "team.env"), `${TEAM}\n`);
    symlinkSync(shared, join(dir, "shared"));
    const hiddenPaths = [join(dir, "link", "secret.env"), join(dir, "link", "keys"), join(dir, "shared", "team", "team.env")];
    const sandbox = ToolSandbox.parse({ mode: "bubblewrap", sharedDir: shared, hiddenPaths, env: { SHARED: shared } });
    const worker = await start({ init: { sandbox } });
    await worker.client.enqueue(userMessage("m1", "find the token"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));
    expect(got.get("repoint")?.text).toContain("repointed");
    const looked = got.get("look")?.text ?? "";
    expect(looked).toContain("looked");
    expect(looked).toContain("mv: cannot move 'real' to 'moved': Device or resource busy");
    for (const id of ["read_key", "read_secret"]) expect(got.get(id), id).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    for (const r of got.values()) expectNoSecret(r.text);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });
});

// The file tools remember hidden files by inode, not folders: a hidden folder listed through a link the agent
// repointed was no longer hidden from them, and file_read returned the files in it (in either mode).
describe("a hidden folder listed through a symlink the agent repointed (subprocess mode)", () => {
  it("is still refused by the file tools where the link led", { timeout: 60_000 }, async (ctx) => {
    const replies = [
      // The file tools look the hidden paths up again at most once a second: the read comes after the next lookup.
      { toolCalls: [call("repoint", "shell", { command: "mkdir -p elsewhere && ln -sfn elsewhere link && sleep 1.2 && echo repointed" })] },
      { toolCalls: [call("read_key", "file_read", { file_path: "real/keys/id.key" }), call("grep_key", "grep", { pattern: "secret", path: "real" })] },
      { text: "done" },
    ];
    const { fake, dir, start } = await newEnv(ctx, { replies });
    mkdirSync(join(dir, "real", "keys"), { recursive: true });
    writeFileSync(join(dir, "real", "keys", "id.key"), `${KEY}\n`);
    symlinkSync("real", join(dir, "link"));
    const worker = await start({ init: { sandbox: ToolSandbox.parse({ mode: "subprocess", hiddenPaths: [join(dir, "link", "keys")] }) } });
    await worker.client.enqueue(userMessage("m1", "find the key"));
    await worker.waitForEvent("turn_completed", undefined, 30_000);
    const got = results(await transcript(worker.client));
    expect(got.get("repoint")?.text).toContain("repointed");
    expect(got.get("read_key")).toMatchObject({ isError: true, text: expect.stringContaining("hidden by sandbox.hidden_paths") });
    for (const r of got.values()) expectNoSecret(r.text);
    for (const req of fake.requests) expectNoSecret(JSON.stringify(req.body));
  });
});
