// /remote through the real CLI against a real sshd on loopback: fixed, selectable and off.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopbackSshd, startLoopbackSshd } from "../fakes/loopback-sshd.js";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

const started = await startLoopbackSshd();
const sshd: LoopbackSshd | null = "skip" in started ? null : started;
if ("skip" in started) console.warn(`remote end-to-end tests skipped: ${started.skip}`);

/** Texts of the tool results the model got since the last user message. */
function toolResults(req: RecordedRequest): string[] {
  const messages = wireMessages(req);
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  return messages.slice(lastUser + 1).filter((m) => m.role === "tool").map(contentText);
}

/** The `properties` of a tool's parameters as offered in this request. */
function toolProperties(req: RecordedRequest, name: string): string[] {
  const tools = (req.body.tools ?? []) as { function?: { name?: string; parameters?: { properties?: object } } }[];
  return Object.keys(tools.find((t) => t.function?.name === name)?.function?.parameters?.properties ?? {});
}

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (afterTool(req)) return { text: `Tool results:\n${toolResults(req).join("\n---\n")}` };
  if (ask.includes("[fixed]")) {
    return {
      toolCalls: [
        { name: "file_write", arguments: { file_path: "hello.txt", content: "written by the agent\n" } },
        { name: "shell", arguments: { command: "cat hello.txt; echo cwd=$(pwd)" } },
      ],
    };
  }
  if (ask.includes("[select]")) return { toolCalls: [{ name: "shell", arguments: { command: "echo home=$(pwd)", remote: "testbox" } }] };
  if (ask.includes("[local]")) return { toolCalls: [{ name: "shell", arguments: { command: "echo local=$(pwd)" } }] };
  return { text: "A default answer." };
}

const chat = privateChat(301, "Remote");
let e2e: E2E;

beforeAll(async () => {
  if (!sshd) return;
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id] }, start: false });
  e2e.start({ STARLING_SSH_CONFIG: sshd.configFile });
});

afterAll(async () => {
  await e2e?.close();
  await sshd?.stop();
});

describe.skipIf(!sshd)("/remote end to end (loopback sshd)", { timeout: 60_000 }, () => {
  it("validates what /remote is given and refuses an unreachable host", async () => {
    expect(await e2e.ask(chat, "/remote")).toMatch(/^Remote: off\./);
    expect(await e2e.ask(chat, "/remote bad;host /srv")).toMatch(/not a usable SSH alias/);
    expect(await e2e.ask(chat, "/remote testbox relative/path")).toMatch(/must be absolute/);
    expect(await e2e.ask(chat, "/remote testbox /no/such/folder")).toMatch(/is not a folder on testbox/);
    const dead = await e2e.ask(chat, "/remote deadbox /tmp");
    expect(dead).toMatch(/^Remote not changed: cannot reach SSH host deadbox: .*Connection refused/);
  });

  it("fixed mode: file_write and shell run in the remote folder, the reply shows it, /status says so", async () => {
    const root = join(sshd?.dir ?? "", "remote");
    expect(await e2e.ask(chat, `/remote testbox ${root}`)).toBe(`Remote set to testbox:${root} (file tools and shell run there). It applies from now on.`);
    expect(await e2e.ask(chat, "/status")).toContain(`Remote: testbox:${root}`);
    const reply = await e2e.ask(chat, "write a file there [fixed]");
    expect(reply).toContain("Created hello.txt");
    expect(reply).toContain("written by the agent");
    expect(reply).toContain(`cwd=${root}`);
    expect(readFileSync(join(root, "hello.txt"), "utf8")).toBe("written by the agent\n");
    const conversation = /^Conversation: (\S+)$/m.exec(await e2e.ask(chat, "/status"))?.[1] ?? "?";
    expect(existsSync(join(e2e.workdir, "conversations", conversation, "hello.txt"))).toBe(false);
    const req = e2e.model.requests.find((r) => lastUserText(r).includes("[fixed]"));
    expect(toolProperties(req!, "file_write")).not.toContain("remote");
    expect(requestText(req!)).toContain(`run on the SSH host testbox in ${root}`);
  });

  it("fixed mode: a folder with spaces is the rest of the line, with or without quotes; tools run in it", async () => {
    const spaced = join(sshd?.dir ?? "", "remote", "my project");
    mkdirSync(spaced, { recursive: true });
    const set = `Remote set to testbox:${spaced} (file tools and shell run there). It applies from now on.`;
    expect(await e2e.ask(chat, `/remote testbox "${spaced}`)).toMatch(/^The remote path "\/.* opens a quote that does not close at its end\./);
    expect(await e2e.ask(chat, `/remote testbox "${spaced}"`)).toBe(set);
    expect(await e2e.ask(chat, `/remote testbox ${spaced}`)).toBe(set);
    const reply = await e2e.ask(chat, "write it in the spaced folder [fixed]");
    expect(reply).toContain(`cwd=${spaced}`);
    expect(readFileSync(join(spaced, "hello.txt"), "utf8")).toBe("written by the agent\n");
  });

  it("selectable mode: tools take a remote alias; off: everything is local again", async () => {
    expect(await e2e.ask(chat, "/remote selectable")).toMatch(/^Remote set to selectable/);
    const selected = await e2e.ask(chat, "where is home [select]");
    expect(selected).toContain(`home=${join(sshd?.dir ?? "", "home")}`);
    const req = e2e.model.requests.find((r) => lastUserText(r).includes("[select]"));
    expect(toolProperties(req!, "shell")).toContain("remote");
    expect(toolProperties(req!, "shell_close")).not.toContain("remote");
    expect(requestText(req!)).toContain("take an optional remote argument");

    expect(await e2e.ask(chat, "/remote off")).toBe("Remote set to off. It applies from now on.");
    expect(await e2e.ask(chat, "/status")).toContain("Remote: off");
    const local = await e2e.ask(chat, "and now [local]");
    expect(local).toMatch(/local=\S*conversations/);
    const offReq = e2e.model.requests.find((r) => lastUserText(r).includes("[local]"));
    expect(toolProperties(offReq!, "shell")).not.toContain("remote");
  });
});
