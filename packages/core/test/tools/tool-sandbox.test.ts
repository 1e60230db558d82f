// Tool processes: allowlisted environment, redacted results, and bubblewrap isolation (own PID
// namespace, only the workspace/shared/software mounted, cancel kills the sandboxed tree).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createRedactor, probeBubblewrap, ToolSandbox } from "@starling/protocol";
import { ToolProcessLauncher } from "../../src/tools/tool-process.js";
import { type Harness, makeHarness } from "./helpers.js";

const KEY = "sk-worker-only-4242-secret";
const probe = await probeBubblewrap("bwrap");
const bwrapWorks = probe.ok;
if (!probe.ok) console.warn(`bubblewrap tests skipped: ${probe.problem}`);

/** Host pids of live (non-zombie) processes whose command line contains `marker` (`exact`: is `marker`). */
function pidsWith(marker: string, exact = false): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (exact ? cmdline === marker : cmdline.includes(marker)) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function until(check: () => boolean, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

let h: Harness;
afterEach(async () => {
  delete process.env.STARLING_TEST_MODEL_KEY;
  await h?.cleanup();
});

describe("tool process environment (subprocess mode)", () => {
  it("starts from the allowlist plus sandbox.env: no worker secrets, by name or by value", async () => {
    process.env.STARLING_TEST_MODEL_KEY = KEY; // allowlisted prefix, but a secret by name
    h = await makeHarness({
      sandbox: ToolSandbox.parse({ mode: "subprocess", env: { PROJECT_FLAVOUR: "plain" }, softwareDir: "/usr/share" }),
      secrets: { names: ["STARLING_TEST_MODEL_KEY"], values: [KEY] },
    });
    const result = await h.call("shell", { command: "env" });
    expect(result.content).toContain("PROJECT_FLAVOUR=plain");
    expect(result.content).toContain("STARLING_SOFTWARE_DIR=/usr/share");
    expect(result.content).toContain("PATH=");
    expect(result.content).not.toContain("STARLING_TEST_MODEL_KEY");
    expect(result.content).not.toContain(KEY);
    // The worker's own variables outside the allowlist (vitest's, npm's) are absent too.
    expect(result.content).not.toMatch(/^(VITEST|npm_)/m);
  });

  it("redacts a secret a command prints, in every form, before the model sees it", async () => {
    h = await makeHarness({ redactor: createRedactor({ MODEL_KEY: KEY }) });
    const result = await h.call("shell", { command: `echo ${KEY}; printf %s ${KEY} | base64` });
    expect(result.content).not.toContain(KEY);
    expect(result.content).not.toContain(Buffer.from(KEY).toString("base64").slice(0, 16));
    expect(result.content).toContain("[redacted:MODEL_KEY]");
  });
});

describe("tool process limits (sandbox.limits)", () => {
  const limited = (limits: ToolSandbox["limits"], mode: "subprocess" | "bubblewrap" = "subprocess") =>
    makeHarness({ sandbox: ToolSandbox.parse({ mode, limits }) });

  it("sets memory, CPU and file size limits, hard and soft, that the command cannot raise", async () => {
    h = await limited({ memoryMb: 256, cpuSeconds: 30, fileSizeMb: 5 });
    const result = await h.call("shell", { command: "ulimit -S -d; ulimit -H -d; ulimit -H -t; ulimit -H -f; ulimit -d unlimited && echo raised || echo kept" });
    const lines = result.content.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["262144", "262144", "30"]);
    expect(Number(lines[3]) * 1024).toBeGreaterThanOrEqual(5 * 1024 * 1024 - 1024); // bash counts 1 KB blocks
    expect(result.content).toContain("kept");
    expect(result.content).not.toContain("raised");
  });

  it("a command that allocates past memory_limit_mb fails; the session goes on", async () => {
    h = await limited({ memoryMb: 64 });
    const result = await h.call("shell", { command: "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo length=${#x}", wait_ms: 90_000 });
    expect(result.content).not.toMatch(/length=200000000/);
    expect(result.content).toMatch(/cannot allocate|out of memory|memory exhausted/i);
    expect((await h.call("shell", { command: "echo still here" })).content).toContain("still here");
  });

  it("a file written past file_size_limit_mb is cut at the limit, and a CPU-bound loop is stopped at cpu_limit_seconds", async () => {
    h = await limited({ fileSizeMb: 1, cpuSeconds: 1 });
    const big = await h.call("shell", { command: "head -c 3000000 /dev/zero > big.bin; echo status=$?; wc -c < big.bin" });
    expect(big.content).toMatch(/status=[1-9]/);
    expect(big.content).toMatch(/\b1048576\b/);
    const spin = await h.call("shell", { command: "sh -c 'while :; do :; done'; echo status=$?", wait_ms: 90_000 });
    // Killed at the limit: SIGXCPU (128 + 24) or SIGKILL (128 + 9), the soft and hard limits being equal.
    expect(spin.content).toMatch(/status=(152|137)\b/);
  });

  it.skipIf(!bwrapWorks)("applies inside bubblewrap too", async () => {
    h = await limited({ memoryMb: 128 }, "bubblewrap");
    const result = await h.call("shell", { command: "ulimit -H -d" });
    expect(result.content).toMatch(/^131072$/m);
  });
});

describe.skipIf(!bwrapWorks)("bubblewrap mode", () => {
  async function sandboxed(extra: Partial<ToolSandbox> = {}): Promise<{ shared: string; software: string }> {
    h = await makeHarness();
    await h.cleanup(); // only for the folders: a runtime with the sandbox is made below
    const base = join(h.workspace, "..");
    mkdirSync(h.workspace, { recursive: true });
    const shared = join(base, "shared");
    const software = join(base, "software");
    mkdirSync(join(software, "bin"), { recursive: true });
    writeFileSync(join(software, "bin", "hello-tool"), "tool v1\n");
    mkdirSync(shared, { recursive: true });
    writeFileSync(join(h.outside, "..", "sibling-secret.txt"), "sibling data");
    const sandbox = ToolSandbox.parse({ mode: "bubblewrap", sharedDir: shared, softwareDir: software, softwareMountPath: "/opt/sw", ...extra });
    h = await makeHarness({ sandbox, secrets: { names: [], values: [KEY] } });
    return { shared, software };
  }

  it("sees only its own PID namespace, the workspace, shared/ and software_dir", async () => {
    const { shared } = await sandboxed();
    mkdirSync(h.outside, { recursive: true });
    const script = [
      "echo pid=$$",
      "echo procs=$(ls /proc | grep -c '^[0-9]')",
      "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '; echo",
      `ls ${h.outside} 2>&1 | head -1`,
      `cat ${join(h.outside, "..", "sibling-secret.txt")} 2>&1`,
      "cat /opt/sw/bin/hello-tool; echo sw=$STARLING_SOFTWARE_DIR home=$HOME",
      `echo from-tool > note.txt; echo shared-note > ${shared}/s.txt`,
    ].join("\n");
    const result = await h.call("shell", { command: script });
    expect(result.details).toMatchObject({ exitCode: 0 });
    const out = result.content;
    expect(out).toMatch(/pid=[1-9]\b/); // a tiny pid: its own namespace
    expect(Number(/procs=(\d+)/.exec(out)?.[1])).toBeLessThan(6);
    expect(out).not.toContain("vitest"); // the worker (this test process) is not visible
    expect(out).toContain("No such file or directory"); // outside and siblings are absent
    expect(out).not.toContain("sibling data");
    expect(out).toContain("tool v1");
    expect(out).toContain(`sw=/opt/sw home=${h.workspace}`);
    expect(readFileSync(join(h.workspace, "note.txt"), "utf8")).toBe("from-tool\n");
    expect(readFileSync(join(shared, "s.txt"), "utf8")).toBe("shared-note\n");
  });

  it("masks the host's secret files wherever a bind would show them (/etc, software_dir)", async () => {
    const software = mkdtempSync(join(tmpdir(), "starling-sw-"));
    try {
      mkdirSync(join(software, "conf"), { recursive: true });
      writeFileSync(join(software, "starling.env"), "BOT_TOKEN=123:secret\n");
      writeFileSync(join(software, "conf", "starling.json"), '{"secret": true}\n');
      writeFileSync(join(software, "hello-tool"), "tool v1\n");
      // /etc/hostname stands in for a config under /etc: readable outside, empty inside.
      expect(readFileSync("/etc/hostname", "utf8").trim()).not.toBe("");
      await sandboxed({ softwareDir: software, hiddenPaths: ["/etc/hostname", join(software, "starling.env"), join(software, "conf")] });
      const result = await h.call("shell", {
        command: "echo host=[$(cat /etc/hostname)]; echo env=[$(cat /opt/sw/starling.env)]; echo conf=[$(ls /opt/sw/conf)]; cat /opt/sw/hello-tool",
      });
      expect(result.content).toContain("host=[]");
      expect(result.content).toContain("env=[]");
      expect(result.content).toContain("conf=[]");
      expect(result.content).not.toContain("secret");
      expect(result.content).toContain("tool v1"); // the rest of the folder is still there
    } finally {
      rmSync(software, { recursive: true, force: true });
    }
  });

  // An MCP server's secret is a per-process extra: as `--setenv NAME VALUE` it was on bwrap's command line, which
  // every local user can read (/proc/<pid>/cmdline, `ps aux`).
  it("a per-process secret variable reaches the process inside, never bwrap's command line", () => {
    const workspace = mkdtempSync(join(tmpdir(), "starling-extra-"));
    try {
      const launcher = new ToolProcessLauncher({ workspace, sandbox: ToolSandbox.parse({ mode: "bubblewrap" }) });
      const script = 'echo "secret=$SERVER_SECRET mode=$SERVER_MODE home=$HOME tmp=$TMPDIR"';
      const command = launcher.command(["/bin/sh", "-c", script], workspace, { SERVER_MODE: "on" }, { SERVER_SECRET: KEY });
      expect(command.args.join(" ")).not.toContain(KEY);
      const run = spawnSync(command.program, command.args, { env: command.env, cwd: command.cwd, encoding: "utf8" });
      expect(run.stdout.trim(), run.stderr).toBe(`secret=${KEY} mode=on home=${workspace} tmp=/tmp`);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  // A config kept as a link (/etc/starling/config.json -> a file elsewhere): bwrap cannot mount over a link whose
  // target is not in the sandbox, and every command failed with "Can't create file at …".
  it("a hidden path that is a link to a file outside every mount does not break commands", async () => {
    const software = mkdtempSync(join(tmpdir(), "starling-sw-"));
    const elsewhere = mkdtempSync(join(tmpdir(), "starling-cfg-"));
    try {
      writeFileSync(join(elsewhere, "starling.json"), '{"secret": true}\n');
      symlinkSync(join(elsewhere, "starling.json"), join(software, "starling.json"));
      writeFileSync(join(software, "hello-tool"), "tool v1\n");
      await sandboxed({ softwareDir: software, hiddenPaths: [join(software, "starling.json")] });
      const result = await h.call("shell", { command: "cat /opt/sw/hello-tool; echo cfg=[$(cat /opt/sw/starling.json 2>/dev/null)]" });
      expect(result.content).toContain("tool v1");
      expect(result.content).toContain("cfg=[]");
    } finally {
      rmSync(software, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  // Only root can read these outside: as any other user the test would prove nothing (CI runs as root).
  it.skipIf(process.getuid?.() !== 0)("hides well-known secrets under /etc that exist (shadow, sshd host keys), as root too", async () => {
    const sshKeys = existsSync("/etc/ssh") ? readdirSync("/etc/ssh").filter((n) => /^ssh_host_.*_key$/.test(n)) : [];
    const files = ["/etc/shadow", "/etc/gshadow", ...sshKeys.map((n) => `/etc/ssh/${n}`)].filter((f) => existsSync(f));
    expect(files).toContain("/etc/shadow");
    for (const file of files) expect(readFileSync(file, "utf8"), `${file} readable outside`).not.toBe("");
    await sandboxed();
    const script = [
      // Byte counts, not contents: a failure must not print the machine's keys into the test log.
      ...files.map((f) => `echo "${f}=[$(cat ${f} 2>/dev/null | wc -c)]"`),
      `echo "pub=[$(ls /etc/ssh 2>/dev/null | grep -c 'pub$')]" "passwd=[$(grep -c '^root:' /etc/passwd)]"`,
    ].join("\n");
    const result = await h.call("shell", { command: script });
    for (const file of files) expect(result.content).toContain(`${file}=[0]`);
    expect(result.content).toContain("passwd=[1]"); // the rest of /etc is still there
    if (sshKeys.length > 0) expect(result.content).not.toContain("pub=[0]"); // and the public host keys
  });

  it("has no network when sandbox.network is false", async () => {
    await sandboxed({ network: false });
    const result = await h.call("shell", { command: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" });
    expect(result.content.split("\n")[0]).toBe("lo");
    expect(result.content).not.toMatch(/^eth|^ens|^veth/m);
  });

  it("cancel kills the whole sandboxed process tree", async () => {
    await sandboxed();
    const marker = `sleep ${3000 + Math.floor(Math.random() * 1000)}.5`;
    const controller = new AbortController();
    const running = h.call("shell", { command: `${marker} & (setsid ${marker} &); ${marker}` }, controller.signal);
    // Three sleeps, one of them in its own session: all inside the sandbox.
    expect(await until(() => pidsWith(marker, true).length === 3)).toBe(true);
    controller.abort();
    const result = await running;
    expect(result.details?.kind).toBe("aborted");
    // Nothing left: no sleep, no shell, no bwrap.
    expect(await until(() => pidsWith(marker).length === 0)).toBe(true);
  });

  it("killAll stops background sessions inside the sandbox", async () => {
    await sandboxed();
    const marker = `sleep ${4000 + Math.floor(Math.random() * 1000)}.5`;
    const bg = await h.call("shell", { command: marker, wait_ms: 0 });
    expect(bg.details).toMatchObject({ running: true });
    expect(await until(() => pidsWith(marker, true).length === 1)).toBe(true);
    await h.runtime.killAll();
    expect(await until(() => pidsWith(marker).length === 0)).toBe(true);
  });

  it("a bwrap that cannot start is a clear tool error and the command does not run", async () => {
    h = await makeHarness({ sandbox: ToolSandbox.parse({ mode: "bubblewrap", bubblewrapBinary: "/nonexistent/bwrap" }) });
    const result = await h.call("shell", { command: "echo ran > ran.txt" });
    expect(result.isError).toBe(true);
    expect(result.content).toContain("The command was not run");
    expect(result.content).toContain("apt-get install bubblewrap");
    expect(readdirSync(h.workspace)).not.toContain("ran.txt");
  });
});

describe.skipIf(!bwrapWorks)("a sandbox that cannot be set up as configured", () => {
  it("a software_dir that does not exist: a tool error naming it, and the command does not run", async () => {
    const softwareDir = join(tmpdir(), `starling-no-such-software-${process.pid}`);
    h = await makeHarness({ sandbox: ToolSandbox.parse({ mode: "bubblewrap", softwareDir }) });
    const result = await h.call("shell", { command: "echo ran > ran.txt" });
    expect(result.isError).toBe(true);
    expect(result.content).toContain(`The command was not run: sandbox.software_dir ${softwareDir} does not exist; fix the config.`);
    expect(readdirSync(h.workspace)).not.toContain("ran.txt");
  });
});
