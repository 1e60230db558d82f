// Idle shutdown and background work: a command the agent left running in the background (a server, a long
// build), a download or a media job keeps its session's worker up past `workers.idle_shutdown_seconds`, since the
// worker's exit stops everything it started; once the work is over the worker idles out as usual. /status names
// the work. No warm spare here: the test counts the host's worker processes, and a spare would stay.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, startE2E, type E2E } from "./fixture.js";

/** Long enough for several idle periods of 1 s to pass while it runs. */
const BACKGROUND_S = 6;

/** `[build]`: a command still running when its call returns; `[daemon]`: one that ends at once and leaves a daemon; `[server]`: one that runs until stopped. */
const COMMANDS: Record<string, { command: string; waitMs: number; answer: string }> = {
  "[build]": { command: `sleep ${BACKGROUND_S}; echo built > build-done.txt`, waitMs: 50, answer: "The build runs in the background." },
  "[daemon]": { command: `setsid -f sh -c 'sleep ${BACKGROUND_S}; echo done > daemon-done.txt' </dev/null >/dev/null 2>&1; echo started`, waitMs: 10_000, answer: "The daemon runs." },
  "[server]": { command: "exec sleep 317", waitMs: 50, answer: "The server runs." },
};

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const key = Object.keys(COMMANDS).find((k) => ask.includes(k));
  if (!key) return { text: "ok" };
  const { command, waitMs, answer } = COMMANDS[key]!;
  if (afterTool(req)) return { text: answer };
  return { toolCalls: [{ name: "shell", arguments: { command, wait_ms: waitMs } }] };
}

/** The pid of the one worker `run` started. */
async function startedWorker(run: () => Promise<void>): Promise<number> {
  const before = new Set(e2e.host!.workerPids());
  await run();
  const started = e2e.host!.workerPids().filter((pid) => !before.has(pid));
  expect(started).toHaveLength(1);
  return started[0]!;
}

/** The conversation's workspace folder, from /status. */
async function workspaceOf(chat: ReturnType<typeof privateChat>): Promise<string> {
  const id = /^Conversation: (\S+)$/m.exec(await e2e.ask(chat, "/status"))?.[1];
  expect(id).toBeTruthy();
  return join(e2e.workdir, "conversations", id!);
}

const chat = privateChat(811, "IdleBackground");
const daemonChat = privateChat(812, "IdleDaemon");
const serverChat = privateChat(813, "IdleServer");
const settingChat = privateChat(814, "SettingRestart");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id, daemonChat.id, serverChat.id, settingChat.id], workers: { idle_shutdown_seconds: 1, warm_spares: 0 } } });
});

afterAll(async () => {
  await e2e?.close();
});

describe("idle shutdown with background work", { timeout: 60_000 }, () => {
  it("keeps the worker while a background command runs, then shuts it down", async () => {
    expect(await e2e.ask(chat, "start the build [build]")).toBe("The build runs in the background.");
    const done = join(await workspaceOf(chat), "build-done.txt");
    const pids = e2e.host!.workerPids();
    expect(pids).toHaveLength(1);

    // Several idle periods pass while the command runs: the worker stays, and /status says why.
    await e2e.until(() => /idle shutdown deferred/.test(e2e.logTail(400)), "an idle check that finds the background command", 10_000);
    const status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/^Background: 1 command running; the worker stays up until it ends \(\/cancel stops it\)$/m);
    expect(existsSync(done), "the command has not finished yet").toBe(false);
    expect(e2e.host!.workerPids()).toEqual(pids);

    await e2e.until(() => existsSync(done), "the background command to finish", 20_000);
    // Over: the next idle check shuts the worker down.
    await e2e.until(() => e2e.host!.workerPids().length === 0, "the worker to idle out after the command", 15_000);
    expect(await e2e.ask(chat, "/status")).not.toMatch(/^Background:/m);
  });

  it("keeps the worker while a daemon a finished command left lives", async () => {
    const pid = await startedWorker(async () => expect(await e2e.ask(daemonChat, "start the daemon [daemon]")).toBe("The daemon runs."));
    const done = join(await workspaceOf(daemonChat), "daemon-done.txt");
    await e2e.until(() => e2e.logRecords().some((r) => r["msg"] === "idle shutdown deferred: background work running" && r["pid"] === pid), "an idle check that finds the daemon", 10_000);
    expect(existsSync(done), "the daemon has not finished yet").toBe(false);
    expect(e2e.host!.workerPids()).toContain(pid);
    await e2e.until(() => existsSync(done), "the daemon to finish", 20_000);
    await e2e.until(() => !e2e.host!.workerPids().includes(pid), "the worker to idle out after the daemon", 15_000);
  });

  it("/cancel stops the background work, and the worker then idles out", async () => {
    const pid = await startedWorker(async () => expect(await e2e.ask(serverChat, "start the server [server]")).toBe("The server runs."));
    await e2e.until(() => e2e.logRecords().some((r) => r["msg"] === "idle shutdown deferred: background work running" && r["pid"] === pid), "an idle check that finds the server", 10_000);
    expect(await e2e.ask(serverChat, "/status")).toMatch(/^Background: 1 command running;/m);
    expect(await e2e.ask(serverChat, "/cancel")).toMatch(/^Nothing to cancel: no turn is running \(stopped 1 /);
    await e2e.until(() => !e2e.host!.workerPids().includes(pid), "the worker to idle out once the server was stopped", 15_000);
  });

  it("a setting that restarts the worker, and /new, say what stopping the worker stopped", async () => {
    const pid = await startedWorker(async () => expect(await e2e.ask(settingChat, "start the server [server]")).toBe("The server runs."));
    expect(await e2e.ask(settingChat, "/sandbox subprocess")).toBe(
      "Sandbox set to subprocess. It applies from now on. Restarting the session's worker for it stopped 1 command left running in the background.",
    );
    expect(e2e.host!.workerPids()).not.toContain(pid);
    expect(await e2e.ask(settingChat, "/status")).not.toMatch(/^Background:/m);
    // Nothing left running: the reply says nothing more.
    expect(await e2e.ask(settingChat, "/sandbox default")).toMatch(/^Sandbox set to \w+ \(default\)\. It applies from now on\.$/);

    // /new retires the old session's worker: it says what that stopped.
    const next = await startedWorker(async () => expect(await e2e.ask(settingChat, "start the server again [server]")).toBe("The server runs."));
    expect(await e2e.ask(settingChat, "/new")).toBe(
      "Started a fresh session. The workspace files stay; the old conversation history is archived. Stopped 1 command the old session left running in the background.",
    );
    expect(e2e.host!.workerPids()).not.toContain(next);
  });
});
