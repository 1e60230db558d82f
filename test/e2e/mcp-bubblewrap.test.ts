// A stdio MCP server under bubblewrap, end to end through the real CLI (docs/SECURITY.md "MCP servers"):
// its `probe` tool (test/fixtures/mcp-probe-server.py) hunts for the host's config and env file, the host's
// and workers' environ and memory, another conversation's workspace, the host state, $HOME, its own
// environment and a local TCP port, and the test checks what reached the model. The same probe from a
// conversation switched to subprocess mode is the control: there it does find them, so the probe works.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeBubblewrap } from "@starling/protocol";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, MODEL_KEY, startE2E, wireMessages, type E2E } from "./fixture.js";

const PYTHON = "/usr/bin/python3";
const bwrap = await probeBubblewrap("bwrap");
// The server's interpreter must be inside the sandbox: system folders only.
const skip = !bwrap.ok ? `bubblewrap cannot run: ${bwrap.problem}` : !existsSync(PYTHON) ? `${PYTHON} is missing (the probe server needs a system python)` : null;
if (skip) console.warn(`MCP-under-bubblewrap end-to-end tests skipped: ${skip}`);

const SERVER = fileURLToPath(new URL("../fixtures/mcp-probe-server.py", import.meta.url));
const PROBE_SECRET = "probe-server-secret-7731-value";
const OTHER_SECRET = "other-server-secret-9146-value";
const PRIVATE = "other-conversation-private-note";
const reverse = (s: string) => [...s].reverse().join("");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const chats = { other: privateChat(1801, "Other"), bwrap: privateChat(1802, "Bwrap"), sub: privateChat(1803, "Sub") };
let e2e: E2E;
let software: string;
let otherWorkspace = "";
/** The bubblewrap conversation's workspace, as its probe reported it. */
let bwrapWorkspace = "";
let tcp: Server;
let port = 0;
let connections = 0;
/** The host and worker pids each probe was sent (by chat), found when the model called it. */
const probedPids = new Map<number, number[]>();

interface Report {
  found: string[];
  files: Record<string, string>;
  visible_pids: number[];
  procs: Record<string, { environ: string; cmdline: string; mem: string }>;
  env_names: string[];
  own_secret_sha256: string | null;
  mounts: string[] | string;
  connect: string;
}

function secrets(): Record<string, string> {
  return { FAKE_TELEGRAM_TOKEN: e2e.telegram.token, FAKE_MODEL_KEY: MODEL_KEY, FAKE_OTHER_TOKEN: OTHER_SECRET, PRIVATE_NOTE: PRIVATE };
}

function hostPaths(): string[] {
  return [
    e2e.configPath,
    join(e2e.dir, "starling.env"),
    join(e2e.workdir, "state"),
    join(e2e.workdir, "logs"),
    homedir(),
    join(e2e.workdir, "conversations"),
    join(otherWorkspace, "private.txt"),
  ];
}

/** The agent's own shell hunting for the servers' secrets in every environ and command line it can see. */
const CANARY = "hunt-canary-4410-value";
const HUNT = [
  // A process of its own holding a canary in its environ: proof that the hunt finds what it can see.
  `HUNT_CANARY=$(echo ${reverse(CANARY)} | rev) sleep 30 &`,
  "for pair in " + [`PROBE_SECRET:${reverse(PROBE_SECRET)}`, `OTHER_SECRET:${reverse(OTHER_SECRET)}`, `CANARY:${reverse(CANARY)}`].join(" ") + "; do",
  '  name=${pair%%:*}; needle=$(echo "${pair#*:}" | rev)',
  '  for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do grep -qaF "$needle" "$f" 2>/dev/null && echo "found $name in $f"; done',
  "done",
  "echo visible=$(ls -d /proc/[0-9]* | wc -l) hunt-done",
  "kill %1",
].join("\n");

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.includes("[hunt]")) return afterTool(req) ? { text: "Hunt finished." } : { toolCalls: [{ name: "shell", arguments: { command: HUNT } }] };
  if (!ask.includes("[probe]")) return { text: "hello back" };
  if (afterTool(req)) return { text: "Probe finished." };
  const host = e2e.host!;
  const pids = [host.child.pid!, ...host.workerPids()];
  probedPids.set(Number(/\[probe\] (\d+)/.exec(ask)?.[1]), pids);
  const args = {
    // Its own secret too, as a canary: found where it must be (its environment, its bwrap init), so the scan works.
    secrets_reversed: Object.fromEntries(Object.entries({ ...secrets(), OWN_SECRET: PROBE_SECRET }).map(([name, value]) => [name, reverse(value)])),
    paths: hostPaths(),
    pids,
    scan_visible: ask.includes("[scan]"),
    own_secret_var: "PROBE_SECRET",
    port,
  };
  return { toolCalls: [{ name: "mcp__probe__probe", arguments: args }] };
}

/** The probe's report as the model got it (the tool result in the request after the call). */
function report(chatId: number): { text: string; report: Report } {
  const req = [...e2e.model.requests].reverse().find((r) => afterTool(r) && lastUserText(r).includes(`[probe] ${chatId}`));
  if (!req) throw new Error(`no request after the probe of chat ${chatId}`);
  const text = contentText(wireMessages(req).at(-1)!);
  return { text, report: JSON.parse(text) as Report };
}

/** Live processes that belong to a probe server (its bwrap, its namespace's init, the server itself). */
function serverProcesses(): { pid: number; cmdline: string; environ: string }[] {
  const out: { pid: number; cmdline: string; environ: string }[] = [];
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (!cmdline.includes("mcp-probe-server.py")) continue;
      out.push({ pid: Number(name), cmdline, environ: readFileSync(`/proc/${name}/environ`, "utf8") });
    } catch {
      /* gone */
    }
  }
  return out;
}

function expectNoSecretIn(text: string): void {
  for (const [name, value] of Object.entries(secrets())) expect(text, `${name} reached the model`).not.toContain(value);
  expect(text).not.toContain(PROBE_SECRET);
}

beforeAll(async () => {
  if (skip) return;
  tcp = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  port = (tcp.address() as { port: number }).port;
  e2e = await startE2E({
    responder: respond,
    start: false,
    config: {
      adminUserIds: Object.values(chats).map((c) => c.id),
      extra: {
        mcp_servers: {
          probe: { command: PYTHON, args: ["PLACEHOLDER"], env: { PROBE_MODE: "on" }, secret_env: { PROBE_SECRET: "FAKE_PROBE_TOKEN" } },
          other: { command: PYTHON, args: ["PLACEHOLDER"], secret_env: { OTHER_SECRET: "FAKE_OTHER_TOKEN" } },
        },
      },
    },
  });
  // The server script lives in software_dir, mounted at its own path so the same command works in both modes.
  software = join(e2e.dir, "software");
  mkdirSync(software);
  copyFileSync(SERVER, join(software, "mcp-probe-server.py"));
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  config.sandbox = { mode: "bubblewrap", bubblewrap_binary: "bwrap", software_dir: software, software_mount_path: software, network: false };
  for (const server of Object.values(config.mcp_servers as Record<string, { args: string[] }>)) server.args = [join(software, "mcp-probe-server.py")];
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  // The bot token and both servers' secrets come from the env file, the model key from the host's environment.
  writeFileSync(
    join(e2e.dir, "starling.env"),
    `FAKE_TELEGRAM_TOKEN=${e2e.telegram.token}\nFAKE_PROBE_TOKEN=${PROBE_SECRET}\nFAKE_OTHER_TOKEN=${OTHER_SECRET}\n`,
    { mode: 0o600 },
  );
  delete e2e.env.FAKE_TELEGRAM_TOKEN;
  e2e.start();
  // Another conversation with a private file in its workspace.
  expect(await e2e.ask(chats.other, "hello", { timeoutMs: 40_000 })).toBe("hello back");
  const conversations = join(e2e.workdir, "conversations");
  otherWorkspace = join(conversations, readdirSync(conversations)[0]!);
  writeFileSync(join(otherWorkspace, "private.txt"), `${PRIVATE}\n`);
}, 90_000);

afterAll(async () => {
  await e2e?.close();
  tcp?.close();
});

describe.skipIf(skip)("a stdio MCP server under bubblewrap", { timeout: 120_000 }, () => {
  it("reaches no host file, no other process, no other conversation, no network, and has only its own secret", async () => {
    const before = connections;
    expect(await e2e.ask(chats.bwrap, `[probe] ${chats.bwrap.id} [scan]`, { timeoutMs: 60_000 })).toBe("Probe finished.");
    const { text, report: r } = report(chats.bwrap.id);
    expectNoSecretIn(text);
    // Only its own secret, in its own environment and its own namespace's init (bwrap); nothing of the host's.
    expect(r.found.filter((f) => !f.startsWith("OWN_SECRET in ")), text).toEqual([]);
    expect(r.found).toContain("OWN_SECRET in own environment");
    expect(r.found).toContain("OWN_SECRET in /proc/1/mem");
    for (const path of hostPaths()) {
      if (path === join(e2e.workdir, "conversations")) continue;
      expect(r.files[path], path).toMatch(/^FileNotFoundError/);
    }
    // The conversations folder shows only this conversation's own workspace.
    expect(r.files[join(e2e.workdir, "conversations")]).toMatch(/^listed 1: tg-/);
    // Its own PID namespace: the host and the workers do not exist for it.
    expect(r.visible_pids.length, JSON.stringify(r.visible_pids)).toBeLessThanOrEqual(3);
    const pids = probedPids.get(chats.bwrap.id)!;
    expect(pids.length).toBeGreaterThanOrEqual(3);
    for (const pid of pids) {
      expect(r.procs[String(pid)], `pid ${pid}`).toEqual({ environ: "FileNotFoundError 2", cmdline: "FileNotFoundError 2", mem: "FileNotFoundError 2" });
    }
    // Its environment: the allowlist (docs/SECURITY.md "How secrets flow"; PWD is bash's), its own env and its own secret.
    expect(r.own_secret_sha256).toBe(sha256(PROBE_SECRET));
    expect(r.env_names).toEqual(expect.arrayContaining(["PROBE_MODE", "PROBE_SECRET", "HOME", "PATH"]));
    const allowlisted = /^(PATH|LANG|LANGUAGE|LC_\w+|TZ|TERM|HOME|TMPDIR|USER|LOGNAME|NODE_OPTIONS|STARLING_\w+|PAGER|GIT_PAGER|SHLVL|PWD|PROBE_MODE|PROBE_SECRET)$/;
    expect(r.env_names.filter((name) => !allowlisted.test(name))).toEqual([]);
    for (const name of ["FAKE_MODEL_KEY", "FAKE_TELEGRAM_TOKEN", "FAKE_OTHER_TOKEN", "OTHER_SECRET", "FAKE_PROBE_TOKEN"]) expect(r.env_names).not.toContain(name);
    // No network: the port the test opened on the host's loopback saw nothing.
    expect(r.connect).not.toBe("connected");
    expect(connections).toBe(before);
    // Mounts: the system folders, /proc, /dev, private /tmp and /var/tmp, its workspace, shared/ and software_dir.
    const workspace = /^listed 1: (tg-\S+)$/.exec(r.files[join(e2e.workdir, "conversations")]!)![1]!;
    const own = join(e2e.workdir, "conversations", workspace);
    bwrapWorkspace = own;
    const allowed = [own, join(own, ".starling"), join(e2e.workdir, "rundir", "shared"), software, "/", "/tmp", "/var/tmp", "/run/systemd/resolve"];
    for (const mount of r.mounts as string[]) {
      expect(allowed.includes(mount) || /^\/(usr|bin|sbin|lib\w*|etc|proc|dev)(\/|$)/.test(mount), `mounted: ${mount}`).toBe(true);
    }
    expect(r.mounts).toContain(own);
    expect(r.mounts).not.toContain(otherWorkspace);
    for (const chat of Object.values(chats)) for (const m of e2e.telegram.messages(chat.id)) expectNoSecretIn(m.text ?? "");
  });

  // /proc/<pid>/cmdline is readable by every local user (`ps aux`), unlike environ (the owner only).
  it("no process's command line holds a server's secret while the servers run", () => {
    const holders: string[] = [];
    let servers = 0;
    for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (cmdline.startsWith("bwrap\0") && cmdline.includes(join(software, "mcp-probe-server.py"))) servers++;
      for (const [name, value] of Object.entries({ PROBE_SECRET, OTHER_SECRET })) {
        if (cmdline.includes(value)) holders.push(`${name} in pid ${pid}: ${cmdline.split("\0")[0]}`);
      }
    }
    // Both servers of the conversations above run in bwrap now (each a bwrap and its namespace's init).
    expect(servers).toBeGreaterThanOrEqual(4);
    expect(holders).toEqual([]);
  });

  it("the agent's shell in the same conversation finds neither server's secret (separate PID namespaces)", async () => {
    expect(await e2e.ask(chats.bwrap, "look for secrets [hunt]", { timeoutMs: 60_000 })).toBe("Hunt finished.");
    const req = [...e2e.model.requests].reverse().find((r) => afterTool(r) && lastUserText(r).includes("[hunt]"))!;
    const result = contentText(wireMessages(req).at(-1)!);
    expect(result).toMatch(/visible=\d+ hunt-done/);
    expect(Number(/visible=(\d+)/.exec(result)![1])).toBeLessThanOrEqual(6);
    expect(result).toMatch(/found CANARY in \/proc\/\d+\/environ/);
    expect(result).not.toMatch(/found (PROBE|OTHER)_SECRET/);
    expectNoSecretIn(result);
  });

  it("/new and a worker killed with SIGKILL leave none of the conversation's sandboxed servers running", async () => {
    const workspace = bwrapWorkspace;
    expect(workspace).not.toBe("");
    // Every process of this conversation's servers: bwrap (its --bind names the workspace), its init, python.
    const running = () => serverProcesses().filter((p) => p.cmdline.includes(workspace) || p.environ.includes(`HOME=${workspace}\0`)).length;
    expect(await e2e.ask(chats.bwrap, `[probe] ${chats.bwrap.id}`, { timeoutMs: 60_000 })).toBe("Probe finished.");
    expect(running()).toBeGreaterThanOrEqual(4);
    expect(await e2e.ask(chats.bwrap, "/new")).toMatch(/^Started a fresh session/);
    await e2e.until(() => running() === 0, "the servers to stop after /new", 10_000);
    expect(await e2e.ask(chats.bwrap, `[probe] ${chats.bwrap.id}`, { timeoutMs: 60_000 })).toBe("Probe finished.");
    expect(running()).toBeGreaterThanOrEqual(4);
    const before = new Set(e2e.host!.workerPids());
    for (const pid of before) process.kill(pid, "SIGKILL");
    await e2e.until(() => running() === 0, "the servers to stop after their worker's SIGKILL", 10_000);
  });

  it("control: the same probe from a conversation in subprocess mode does reach them", async () => {
    expect(await e2e.ask(chats.sub, "/sandbox subprocess")).toMatch(/subprocess/);
    const before = connections;
    expect(await e2e.ask(chats.sub, `[probe] ${chats.sub.id}`, { timeoutMs: 60_000 })).toBe("Probe finished.");
    const { text, report: r } = report(chats.sub.id);
    expectNoSecretIn(text);
    expect(r.connect).toBe("connected");
    expect(connections).toBe(before + 1);
    expect(r.files[join(otherWorkspace, "private.txt")]).toMatch(/^read/);
    expect(r.found).toContain("FAKE_TELEGRAM_TOKEN in " + join(e2e.dir, "starling.env"));
  });
});
