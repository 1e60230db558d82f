// Remote commands under faults, through the real CLI and a real sshd on loopback: /cancel, /remote off,
// a worker killed with kill -9, a dropped connection, a background command left at /new. The "remote
// host" is this machine, so the test sees whether the remote command is still running.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopbackSshd, startLoopbackSshd } from "../fakes/loopback-sshd.js";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { type FakeChat, privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, panels, processAlive, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

const started = await startLoopbackSshd();
const sshd: LoopbackSshd | null = "skip" in started ? null : started;
if ("skip" in started) console.warn(`remote fault end-to-end tests skipped: ${started.skip}`);
const root = join(sshd?.dir ?? "", "remote");

/** The remote command of a `[tag]` message: writes its pid to `<tag>.pid`, then sleeps, ignoring SIGTERM (as one cleaning up would). */
const longCommand = (tag: string): string => `echo started; trap "" TERM; echo $$ > ${join(root, `${tag}.pid`)}; exec sleep 300`;

function toolResults(req: RecordedRequest): string[] {
  const messages = wireMessages(req);
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  return messages.slice(lastUser + 1).filter((m) => m.role === "tool").map(contentText);
}

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (afterTool(req)) return { text: `Tool results:\n${toolResults(req).join("\n---\n")}` };
  const tag = /\[(\w+)\]/.exec(ask)?.[1];
  if (tag === "echo") return { toolCalls: [{ name: "shell", arguments: { command: "echo reached $(hostname)" } }] };
  if (tag) return { toolCalls: [{ name: "shell", arguments: { command: longCommand(tag), wait_ms: tag === "background" ? 1_000 : 120_000 } }] };
  return { text: "A default answer." };
}

const chats = {
  cancel: privateChat(601, "Cancel"),
  off: privateChat(602, "Off"),
  crash: privateChat(603, "Crash"),
  drop: privateChat(604, "Drop"),
  background: privateChat(605, "Background"),
};
let e2e: E2E;

beforeAll(async () => {
  if (!sshd) return;
  e2e = await startE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) }, start: false });
  e2e.start({ STARLING_SSH_CONFIG: sshd.configFile });
});

afterAll(async () => {
  for (const tag of Object.keys(chats)) {
    const pid = remotePid(tag);
    if (pid && processAlive(pid)) process.kill(pid, "SIGKILL");
  }
  await e2e?.close();
  await sshd?.stop();
});

function remotePid(tag: string): number | null {
  const file = join(root, `${tag}.pid`);
  return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) || null : null;
}

/** Binds the chat to the remote folder, sends `[tag]` and waits until its remote command runs; its pid. */
async function startRemoteCommand(chat: FakeChat, tag: string): Promise<number> {
  expect(await e2e.ask(chat, `/remote testbox ${root}`)).toMatch(/^Remote set to testbox:/);
  rmSync(join(root, `${tag}.pid`), { force: true });
  e2e.send(chat, `run it [${tag}]`);
  const pid = await e2e.until(() => remotePid(tag), `the remote command of [${tag}] to run`);
  expect(processAlive(pid)).toBe(true);
  return pid;
}

describe.skipIf(!sshd)("remote commands under faults (loopback sshd)", { timeout: 60_000 }, () => {
  it("/cancel: the turn is shown cancelled once the remote command is gone, and /continue resumes it", async () => {
    const pid = await startRemoteCommand(chats.cancel, "cancel");
    // The reply says the cancel was accepted; the panel shows the turn cancelled once it ended.
    expect(await e2e.ask(chats.cancel, "/cancel")).toMatch(/^Cancelled the running turn/);
    await e2e.until(() => panels(e2e.telegram, chats.cancel.id).at(-1)?.text?.includes("Cancelled"), "the panel to show cancelled", 5_000);
    expect(processAlive(pid), "the remote command is gone when the turn is shown cancelled").toBe(false);
    expect(await e2e.ask(chats.cancel, "/continue")).toMatch(/^Continuing/);
    const answer = await e2e.waitText(chats.cancel.id, /^Tool results:/);
    expect(answer.text).toMatch(/started\n\[interrupted: the turn was cancelled or interrupted, so the command is being stopped on testbox/);
  });

  it("/remote off during a remote command stops it; the turn goes on locally, told why the command stopped, and is answered", async () => {
    const pid = await startRemoteCommand(chats.off, "off");
    expect(await e2e.ask(chats.off, "/remote off")).toBe("Remote set to off. It applies from now on.");
    expect(processAlive(pid), "the remote command is gone when /remote off is answered").toBe(false);
    const answer = await e2e.waitText(chats.off.id, /^Tool results:/);
    expect(answer.text).toMatch(/started\n\[interrupted: the worker restarted \(a \/model, \/sandbox, \/mcp or \/remote change, or the host stopping\), so the command is being stopped on testbox/);
    expect(answer.text).toContain("The turn goes on under the current settings: check where tools run now (locally or on which SSH host) before repeating it.");
    const resumed = e2e.model.requests.filter((r) => lastUserText(r).includes("[off]") && afterTool(r)).at(-1)!;
    expect(requestText(resumed)).not.toContain("run on the SSH host testbox");
  });

  it("a worker killed with kill -9 mid-command: the remote command stops, the turn is answered with the crash note", async () => {
    const pid = await startRemoteCommand(chats.crash, "crash");
    for (const worker of e2e.host!.workerPids()) process.kill(worker, "SIGKILL");
    await e2e.until(() => !processAlive(pid), "the remote command to stop after its worker died", 5_000);
    const answer = await e2e.waitText(chats.crash.id, /^Tool results:/, 25_000);
    expect(answer.text).toMatch(/Interrupted by a crash; outcome unknown/);
  });

  it("a dropped connection mid-command: the answer says the connection to the host was lost; the next message works", async () => {
    const pid = await startRemoteCommand(chats.drop, "drop");
    sshd!.signalConnections("SIGKILL");
    const answer = await e2e.waitText(chats.drop.id, /^Tool results:/, 20_000);
    expect(answer.text).toMatch(/started\n\[connection to SSH host testbox lost after .* \(ssh exit 255, no end reported by the command\)/);
    expect(answer.text).toContain("outcome is unknown");
    await e2e.until(() => !processAlive(pid), "the remote command to stop with its connection", 5_000);
    expect(await e2e.ask(chats.drop, "again [echo]")).toMatch(/^Tool results:\nreached \S+\n\[exit code 0/);
  });

  it("a background remote command is stopped by /new", async () => {
    const pid = await startRemoteCommand(chats.background, "background");
    expect(await e2e.waitText(chats.background.id, /^Tool results:/)).toMatchObject({ text: expect.stringContaining("still running") });
    expect(processAlive(pid)).toBe(true);
    expect(await e2e.ask(chats.background, "/new")).toMatch(/^Started a fresh session/);
    expect(processAlive(pid), "the remote command is gone when /new is answered").toBe(false);
  });
});
