// Secrets never reach a tool (ARCHITECTURE §2), through the real CLI: a shell tool call that hunts
// for the bot token and the model key in its environment, its ancestors' environ, (in bubblewrap
// mode) the memory of every process it can see, the config, the env file (also where a mounted folder
// holds it), the host state and $HOME.
// Every probe's output is reversed with `rev`, so the redactor cannot hide a leak from this test.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeBubblewrap } from "@starling/protocol";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { runCliOnce } from "./host-harness.js";
import { afterTool, contentText, lastUserText, MODEL_KEY, startE2E, wireMessages, type E2E } from "./fixture.js";

const probe = await probeBubblewrap("bwrap");
const systemNode = /^\/(usr|bin)\//.test(process.execPath);
if (!probe.ok) console.warn(`bubblewrap end-to-end tests skipped: ${probe.problem}`);
if (!systemNode) console.warn(`memory scan skipped: node (${process.execPath}) is not under /usr or /bin, so it is not inside the sandbox`);

const CANARY = "canary-visible-in-bash-memory";
const OPERATOR_SECRET = "operator-secret-7f3a9c";
const reverse = (s: string) => [...s].reverse().join("");

/** Scans /proc/<pid>/mem of every visible process except itself; secrets arrive reversed so its own argv holds none. */
const SCANNER = String.raw`
const fs = require("fs");
const wanted = JSON.parse(process.argv[2]).map((s) => ({ name: s.name, bytes: Buffer.from([...s.value].reverse().join("")) }));
let scanned = 0;
for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)) {
  let maps = "";
  try { maps = fs.readFileSync("/proc/" + pid + "/maps", "utf8"); } catch { continue; }
  const found = new Set();
  let fd;
  try { fd = fs.openSync("/proc/" + pid + "/mem", "r"); } catch (e) { console.log("pid " + pid + " mem unreadable " + e.code); continue; }
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
    if (!m || line.includes("[vvar") || line.includes("[vsyscall")) continue;
    const start = parseInt(m[1], 16), end = parseInt(m[2], 16);
    for (let at = start; at < end; at += 1 << 20) {
      const buf = Buffer.alloc(Math.min(1 << 20, end - at));
      try { fs.readSync(fd, buf, 0, buf.length, at); } catch { break; }
      scanned += buf.length;
      for (const w of wanted) if (buf.includes(w.bytes)) found.add(w.name);
    }
  }
  fs.closeSync(fd);
  console.log("pid " + pid + " found: " + ([...found].join(",") || "none"));
}
console.log("scanned-bytes " + scanned);
`;

const chats = { sub: privateChat(301, "Sub"), bwrap: privateChat(302, "Bwrap") };
const scripts = new Map<string, string>();
/** Turns whose model makes several tool calls in a row: each inner list is one model response's calls. */
const steps = new Map<string, { name: string; arguments: Record<string, unknown> }[][]>();
let e2e: E2E;
let envFile: string;
let software: string;

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const plan = [...steps.entries()].find(([tag]) => ask.includes(tag))?.[1];
  if (plan) {
    const messages = wireMessages(req);
    const done = messages.slice(messages.map((m) => m.role).lastIndexOf("user")).filter((m) => m.role === "assistant").length;
    return done < plan.length ? { toolCalls: plan[done]! } : { text: "Probe finished." };
  }
  const script = [...scripts.entries()].find(([tag]) => ask.includes(tag))?.[1];
  if (!script) return { text: "A default answer." };
  return afterTool(req) ? { text: "Probe finished." } : { toolCalls: [{ name: "shell", arguments: { command: script, wait_ms: 60_000 } }] };
}

/** The tool result the model got back for the turn started by `tag`. */
function toolResult(tag: string): string {
  const req = e2e.model.requests.find((r) => lastUserText(r).includes(tag) && afterTool(r));
  if (!req) throw new Error(`no request after the tool of ${tag}`);
  return contentText(wireMessages(req).at(-1)!);
}

function secrets(): Record<string, string> {
  return { FAKE_TELEGRAM_TOKEN: e2e.telegram.token, FAKE_MODEL_KEY: MODEL_KEY };
}

function expectNoSecret(text: string): void {
  for (const [name, value] of Object.entries(secrets())) {
    expect(text, `${name} leaked`).not.toContain(value);
    expect(text, `${name} leaked (reversed)`).not.toContain(reverse(value));
  }
}

/** Runs `body` (bash) with stdout+stderr reversed line by line. */
const reversed = (body: string) => `{\n${body}\n} 2>&1 | rev`;
const ANCESTORS = `p=$PPID; while [ "$p" -gt 1 ]; do echo "== ancestor $p"; tr '\\0' '\\n' < /proc/$p/environ; p=$(awk '/^PPid:/{print $2}' /proc/$p/status); done`;

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    start: false,
    config: { adminUserIds: Object.values(chats).map((c) => c.id) },
  });
  software = join(e2e.dir, "software");
  mkdirSync(software);
  writeFileSync(join(software, "tool.txt"), "software tool v7\n");
  // The sandbox section: subprocess by default (one chat switches to bubblewrap), software_dir mounted at /opt/sw.
  // pid_namespace false: the tools see their ancestors (worker, host), the case where their environ must be clean; in the
  // default PID namespace a tool cannot see them at all (test/conformance/cancel-escapes.test.ts).
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  // hidden_paths: the operator's own secrets in a mounted folder (a file, a folder, and one made only after start).
  writeFileSync(join(software, "operator-secret.env"), `${OPERATOR_SECRET}\n`);
  mkdirSync(join(software, "keys"));
  writeFileSync(join(software, "keys", "id.key"), `${OPERATOR_SECRET}\n`);
  // And one in shared/ listed through a link there, which a tool can repoint (`shared-link/team.env` leads to shared-real/).
  const shared = join(e2e.workdir, "rundir", "shared");
  mkdirSync(join(shared, "shared-real"), { recursive: true });
  writeFileSync(join(shared, "shared-real", "team.env"), `${OPERATOR_SECRET}\n`);
  symlinkSync("shared-real", join(shared, "shared-link"));
  const hidden_paths = [...["operator-secret.env", "keys", "later.env"].map((name) => join(software, name)), join(shared, "shared-link", "team.env")];
  config.sandbox = { mode: "subprocess", bubblewrap_binary: "bwrap", software_dir: software, software_mount_path: "/opt/sw", memory_limit_mb: 512, cpu_limit_seconds: 900, pid_namespace: false, hidden_paths };
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  // The bot token comes from the env file only; the model key from the host's environment (TOKEN=… starling).
  // The env file is a link into software_dir, which bubblewrap mounts: the host must mask it there (by its real path).
  envFile = join(dirname(e2e.configPath), "starling.env");
  writeFileSync(join(software, "starling.env"), `FAKE_TELEGRAM_TOKEN=${e2e.telegram.token}\n`, { mode: 0o600 });
  symlinkSync(join(software, "starling.env"), envFile);
  delete e2e.env.FAKE_TELEGRAM_TOKEN;
  e2e.start();
});

afterAll(async () => {
  await e2e?.close();
});

describe("secrets never reach a tool", { timeout: 90_000 }, () => {
  it("the host's and the workers' /proc/<pid>/environ hold no secret after start", async () => {
    expect(await e2e.ask(chats.sub, "hello")).toBe("A default answer.");
    const host = e2e.host!;
    const environs = [host.child.pid!, ...host.workerPids()].map((pid) => readFileSync(`/proc/${pid}/environ`, "utf8"));
    expect(environs.length).toBeGreaterThanOrEqual(2);
    for (const environ of environs) expectNoSecret(environ);
  });

  // Subprocess mode is trusted use: files the user can read (the env file too) stay readable (docs/SECURITY.md).
  it("subprocess mode: the tool's env and every ancestor's environ are clean", async () => {
    scripts.set("[probe-sub]", reversed(["echo SHELL-ENV", "env", ANCESTORS].join("\n")));
    expect(await e2e.ask(chats.sub, "look around [probe-sub]")).toBe("Probe finished.");
    const result = toolResult("[probe-sub]");
    expectNoSecret(result);
    expect(result).toContain(reverse("SHELL-ENV"));
    // Walked past the worker to the host (and beyond): at least two ancestors.
    expect(result.split(reverse("== ancestor")).length - 1).toBeGreaterThanOrEqual(2);
    for (const chat of Object.values(chats)) for (const m of e2e.telegram.messages(chat.id)) expectNoSecret(m.text ?? "");
  });

  it("the config's sandbox limits reach every tool process (memory_limit_mb, cpu_limit_seconds)", async () => {
    scripts.set("[probe-limits]", reversed("echo data=$(ulimit -H -d) cpu=$(ulimit -H -t) file=$(ulimit -H -f)"));
    expect(await e2e.ask(chats.sub, "what are my limits [probe-limits]")).toBe("Probe finished.");
    expect(toolResult("[probe-limits]")).toContain(reverse("data=524288 cpu=900 file=unlimited"));
  });

  // The worker never holds the bot token; it gets its digest and redacts it from what the model sees.
  it("subprocess mode: a bot token a tool reads from the env file reaches the model redacted", async () => {
    scripts.set("[probe-envfile]", `cat ${envFile}; echo "url https://api.telegram.org/bot$(sed -n 's/^FAKE_TELEGRAM_TOKEN=//p' ${envFile})/getMe"`);
    expect(await e2e.ask(chats.sub, "read the env file [probe-envfile]")).toBe("Probe finished.");
    const result = toolResult("[probe-envfile]");
    expect(result).toContain("FAKE_TELEGRAM_TOKEN=[redacted:FAKE_TELEGRAM_TOKEN]");
    expect(result).toContain("url https://api.telegram.org/bot[redacted:FAKE_TELEGRAM_TOKEN]/getMe");
    expectNoSecret(result);
    for (const r of e2e.model.requests) expect(JSON.stringify(r.body)).not.toContain(e2e.telegram.token);
  });

  it.skipIf(!probe.ok)("bubblewrap mode: no secret in env, ancestors, any visible process memory, config, env file, state or $HOME", async () => {
    expect(await e2e.ask(chats.bwrap, "/sandbox bubblewrap")).toMatch(/Sandbox set to bubblewrap/);
    const scanner = join("/tmp", "scan.cjs");
    const wanted = JSON.stringify(Object.entries({ ...secrets(), CANARY }).map(([name, value]) => ({ name, value: reverse(value) })));
    const body = [
      "echo SHELL-ENV",
      "env",
      ANCESTORS,
      `cat ${e2e.configPath}`,
      `cat ${envFile}`,
      `ls ${join(e2e.workdir, "state")}`,
      `ls ${join(e2e.workdir, "logs")}`,
      `ls ${homedir()}`,
      `ls ${join(e2e.workdir, "conversations")}`,
      "echo written-in-sandbox > from-sandbox.txt",
      "cat /opt/sw/tool.txt; echo software-env=$STARLING_SOFTWARE_DIR",
      'echo "masked-env=[$(cat /opt/sw/starling.env)]"',
      // bash holds the canary in its memory: proof that the scan reads what it can see.
      `CANARY_HOLDER=$(echo ${reverse(CANARY)} | rev)`,
      systemNode ? `cat > ${scanner} <<'EOF'\n${SCANNER}\nEOF\n${process.execPath} ${scanner} '${wanted}'` : "echo scan-skipped",
    ].join("\n");
    scripts.set("[probe-bwrap]", reversed(body));
    expect(await e2e.ask(chats.bwrap, "look around [probe-bwrap]")).toBe("Probe finished.");
    const result = toolResult("[probe-bwrap]");
    const plain = result.split("\n").map(reverse).join("\n");
    expectNoSecret(result);
    expectNoSecret(plain);
    expect(plain).toContain("SHELL-ENV");
    for (const path of [e2e.configPath, envFile, join(e2e.workdir, "state"), join(e2e.workdir, "logs"), homedir()]) {
      expect(plain).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*No such file or directory`));
    }
    expect(plain).not.toContain("host.log");
    expect(plain).toContain("software tool v7");
    expect(plain).toContain("software-env=/opt/sw");
    expect(plain).toContain("masked-env=[]");
    const conversation = /^(tg-\S+)$/m.exec(plain)?.[1];
    expect(conversation, "the only conversation folder visible is its own").toBeDefined();
    expect(readFileSync(join(e2e.workdir, "conversations", conversation!, "from-sandbox.txt"), "utf8")).toBe("written-in-sandbox\n");
    if (systemNode) {
      expect(Number(/scanned-bytes (\d+)/.exec(plain)?.[1])).toBeGreaterThan(0);
      expect(plain).toMatch(/found: CANARY/);
      expect(plain).not.toMatch(/found: .*FAKE_/);
    }
    for (const chat of Object.values(chats)) for (const m of e2e.telegram.messages(chat.id)) expectNoSecret(m.text ?? "");
  });

  it.skipIf(!probe.ok)("bubblewrap mode: sandbox.hidden_paths (one created after start too) and, as root, /etc/shadow cannot be read", async () => {
    expect(await e2e.ask(chats.bwrap, "/sandbox bubblewrap")).toMatch(/Sandbox (set to|is already) bubblewrap/);
    writeFileSync(join(software, "later.env"), `${OPERATOR_SECRET}\n`);
    const root = process.getuid?.() === 0;
    if (root) expect(readFileSync("/etc/shadow", "utf8")).not.toBe("");
    const body = [
      // Byte counts of what a tool can read: 0 when masked (the machine's shadow file never reaches the log).
      ...["operator-secret.env", "later.env", "keys/id.key"].map((n) => `echo "${n}=[$(cat /opt/sw/${n} 2>/dev/null | wc -c)]"`),
      'echo "keys-dir=[$(ls /opt/sw/keys)]"',
      'echo "shadow=[$(cat /etc/shadow 2>/dev/null | wc -c)]"',
      "cat /opt/sw/tool.txt",
    ].join("\n");
    scripts.set("[probe-hidden]", body);
    expect(await e2e.ask(chats.bwrap, "read the operator's secrets [probe-hidden]")).toBe("Probe finished.");
    const result = toolResult("[probe-hidden]");
    for (const n of ["operator-secret.env", "later.env", "keys/id.key"]) expect(result).toContain(`${n}=[0]`);
    expect(result).toContain("keys-dir=[]");
    if (root) expect(result).toContain("shadow=[0]");
    expect(result).toContain("software tool v7"); // the rest of software_dir is still there
    for (const r of e2e.model.requests) expect(JSON.stringify(r.body)).not.toContain(OPERATOR_SECRET);
  });

  // A hidden path listed through a link the agent can repoint was masked where it led only in the life of a worker that
  // had seen it: the next worker (here after a host restart) masked nothing there, and `cat` read the old target.
  it.skipIf(!probe.ok)("bubblewrap mode: a hidden path's old target stays masked for the next worker after its link is repointed", async () => {
    expect(await e2e.ask(chats.bwrap, "/sandbox bubblewrap")).toMatch(/Sandbox (set to|is already) bubblewrap/);
    scripts.set("[probe-repoint]", "mkdir -p shared/shared-else && ln -sfn shared-else shared/shared-link && echo repointed");
    expect(await e2e.ask(chats.bwrap, "repoint the link [probe-repoint]")).toBe("Probe finished.");
    expect(toolResult("[probe-repoint]")).toContain("repointed");
    expect(await e2e.stop()).toEqual({ code: 0, signal: null });
    e2e.start();
    scripts.set("[probe-old-target]", 'echo "old=[$(cat shared/shared-real/team.env 2>/dev/null | wc -c)]"');
    expect(await e2e.ask(chats.bwrap, "read the old target [probe-old-target]")).toBe("Probe finished.");
    expect(toolResult("[probe-old-target]")).toContain("old=[0]");
    for (const r of e2e.model.requests) expect(JSON.stringify(r.body)).not.toContain(OPERATOR_SECRET);
  });

  /** Every tool result of the turn started by `tag`, in order. */
  function toolResults(tag: string): string[] {
    const req = [...e2e.model.requests].reverse().find((r) => lastUserText(r).includes(tag))!;
    const messages = wireMessages(req);
    return messages.slice(messages.map((m) => m.role).lastIndexOf("user")).filter((m) => m.role === "tool").map(contentText);
  }

  // LevelDB opens its files without close-on-exec: the host's database (inherited by the worker) and the
  // worker's session database reached every tool as open descriptors, which /proc/self/fd/N reopens even
  // where bubblewrap mounts none of their paths.
  it.skipIf(!probe.ok)("bubblewrap mode: a tool inherits no descriptor but stdin, stdout and stderr", async () => {
    expect(await e2e.ask(chats.bwrap, "/sandbox bubblewrap")).toMatch(/Sandbox (set to|is already) bubblewrap/);
    const body = 'for f in /proc/self/fd/*; do n=${f##*/}; echo "fd $n -> $(readlink $f)"; done; for n in $(ls /proc/self/fd); do [ "$n" -gt 2 ] && [ -f /proc/self/fd/$n ] && head -c 200 /proc/self/fd/$n | tr -c "[:print:]" . | sed "s/^/read $n: /"; done; echo fds-done';
    scripts.set("[probe-fds]", body);
    expect(await e2e.ask(chats.bwrap, "which files are open [probe-fds]")).toBe("Probe finished.");
    const result = toolResult("[probe-fds]");
    expect(result).toContain("fds-done");
    const fds = [...result.matchAll(/^fd (\d+) -> (.*)$/gm)].map((m) => ({ fd: Number(m[1]), target: m[2]! }));
    // 3 is the glob's own reading of /proc/self/fd (closed again when the loop runs).
    const extra = fds.filter((f) => f.fd > 2 && !(f.fd === 3 && f.target === ""));
    expect(extra, result).toEqual([]);
    expect(result).not.toContain(join(e2e.workdir, "state"));
    expect(result).not.toContain(".starling/sessions");
  });

  // The workspace's `shared` link sits where a tool can replace it: `ln -s / shared` made every file of the
  // host reachable to the worker's file tools (which run outside the sandbox) as shared/<path>.
  it.skipIf(!probe.ok)("bubblewrap mode: a tool that re-points the workspace's shared link does not get the file tools out", async () => {
    expect(await e2e.ask(chats.bwrap, "/sandbox bubblewrap")).toMatch(/Sandbox (set to|is already) bubblewrap/);
    steps.set("[probe-shared]", [
      [{ name: "shell", arguments: { command: "rm shared && ln -s / shared && echo relinked" } }],
      [
        { name: "file_read", arguments: { file_path: `shared${e2e.configPath}` } },
        { name: "ls", arguments: { path: `shared${join(e2e.workdir, "logs")}` } },
        { name: "file_write", arguments: { file_path: `shared${join(e2e.dir, "written-by-agent.txt")}`, content: "escaped" } },
      ],
    ]);
    expect(await e2e.ask(chats.bwrap, "escape via shared [probe-shared]")).toBe("Probe finished.");
    const [relink, config, logs, write] = toolResults("[probe-shared]");
    expect(relink).toContain("relinked");
    for (const result of [config, logs, write]) expect(result).toMatch(/outside the workspace/);
    expect(config).not.toContain("bot_token_env");
    expect(logs).not.toContain("host.log");
    expect(existsSync(join(e2e.dir, "written-by-agent.txt"))).toBe(false);
  });

  it("a host configured for bubblewrap refuses to start when bwrap cannot run, and says what to do", async () => {
    const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
    config.sandbox = { mode: "bubblewrap", bubblewrap_binary: "/nonexistent/bwrap" };
    const path = join(e2e.dir, "broken-sandbox.json");
    writeFileSync(path, JSON.stringify(config));
    const run = await runCliOnce(["--config", path, "--workdir", join(e2e.dir, "other-workdir"), "--env-file", envFile], { FAKE_MODEL_KEY: MODEL_KEY });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("/nonexistent/bwrap was not found");
    expect(run.output).toContain("apt-get install bubblewrap");
  });
});
