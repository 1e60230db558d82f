// What an agent starts outside its shell's process group (`setsid -f`, a daemon) does not outlive the
// session: /new and a host shutdown (SIGTERM) stop it, and no such daemon is left (checked in /proc).
import { readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, startE2E, type E2E } from "./fixture.js";
import { processesMatching } from "./host-harness.js";
import { processGone } from "../conformance/harness.js";
import { hostPid } from "../fixtures/host-pid.js";

const DAEMON = "sleep 319"; // an unusual number, to find it in `ps`

/** The daemon: leaves the shell's process group and session, writes its pid, and lives on after the command ends. */
function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const file = /into (\S+\.pid)/.exec(ask)?.[1];
  if (!file) return { text: "ok" };
  if (afterTool(req)) return { text: "daemon started" };
  const command = `setsid -f sh -c 'echo $$ > ${file}; exec ${DAEMON}'; while [ ! -s ${file} ]; do sleep 0.05; done; echo started`;
  return { toolCalls: [{ name: "shell", arguments: { command, wait_ms: 10_000 } }] };
}

/** Alive and not a zombie (an orphan's zombie stays until its reaper gets to it). */
const running = (pid: number): boolean => !processGone(pid);

const chats = { renew: privateChat(1301, "Renew"), shutdown: privateChat(1302, "Shutdown") };
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});

afterAll(async () => {
  for (const pid of processesMatching(DAEMON)) process.kill(pid, "SIGKILL");
  await e2e?.close();
});

/** The daemon whose working directory holds `file` with its pid. */
function daemonPid(file: string): number {
  const found = processesMatching(DAEMON).find((pid) => {
    try {
      // The file holds the pid the daemon has in the PID namespace of the shell commands.
      return hostPid(Number(readFileSync(`/proc/${pid}/cwd/${file}`, "utf8")), readlinkSync(`/proc/${pid}/cwd`)) === pid;
    } catch {
      return false;
    }
  });
  return found ?? 0;
}

describe("processes that leave their group", () => {
  it("/new stops a setsid daemon the old session started; none is left", async () => {
    expect(await e2e.ask(chats.renew, "start it into renew.pid", { timeoutMs: 30_000 })).toBe("daemon started");
    const pid = daemonPid("renew.pid");
    expect(pid).toBeGreaterThan(0);
    expect(running(pid)).toBe(true);
    expect(await e2e.ask(chats.renew, "/new")).toMatch(/^Started a fresh session/);
    await e2e.until(() => !running(pid), "the daemon to be gone", 5_000);
    // A pid found gone (or a zombie) never runs again: what could come back is another daemon, looked for here.
    expect(processesMatching(DAEMON).filter(running)).toEqual([]);
  });

  it("a host shutdown (SIGTERM) stops a setsid daemon; none is left", async () => {
    expect(await e2e.ask(chats.shutdown, "start it into shutdown.pid", { timeoutMs: 30_000 })).toBe("daemon started");
    const pid = daemonPid("shutdown.pid");
    expect(pid).toBeGreaterThan(0);
    expect(await e2e.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(running(pid)).toBe(false);
    expect(processesMatching(DAEMON).filter(running)).toEqual([]);
  });
});
