import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helperScript } from "../../src/tools/remote/helper-script.js";
import { RemoteWorkspace } from "../../src/tools/remote/remote-workspace.js";
import { checkReachable, runSsh } from "../../src/tools/remote/ssh.js";
import { REMOTE_STOP_MS } from "../../src/tools/shell-sessions.js";
import { WHOLE_FILE_BYTES } from "../../src/tools/whole-file.js";
import { type LoopbackSshd, startLoopbackSshd } from "../../../../test/fakes/loopback-sshd.js";
import { type Harness, makeHarness, processAlive, writtenPid } from "./helpers.js";

// A real sshd on 127.0.0.1 stands in for the remote machine; it runs as this user, so the test
// checks the "remote" files directly on disk.
const started = await startLoopbackSshd();
const sshd: LoopbackSshd | null = "skip" in started ? null : started;
if ("skip" in started) console.warn(`remote tool tests skipped: ${started.skip}`);

/** The pid a remote command wrote to `marker`, once it is there, checked to be running. */
async function remotePid(marker: string): Promise<number> {
  const pid = await writtenPid(marker);
  expect(pid, `no pid in ${marker}`).toBeGreaterThan(0);
  expect(processAlive(pid)).toBe(true);
  return pid;
}

describe.skipIf(!sshd)("remote tools over SSH (loopback sshd)", () => {
  const previousConfig = process.env.STARLING_SSH_CONFIG;
  let fixed: Harness;
  let selectable: Harness;
  let root: string;

  beforeAll(async () => {
    if (!sshd) return;
    process.env.STARLING_SSH_CONFIG = sshd.configFile;
    root = join(sshd.dir, "remote");
    fixed = await makeHarness({ remote: { mode: "fixed", host: "testbox", path: root } });
    selectable = await makeHarness({ remote: { mode: "selectable" } });
  });
  afterAll(async () => {
    await fixed?.cleanup();
    await selectable?.cleanup();
    await sshd?.stop();
    if (previousConfig === undefined) delete process.env.STARLING_SSH_CONFIG;
    else process.env.STARLING_SSH_CONFIG = previousConfig;
  });

  it("offers `remote` only in selectable mode, and only on file tools and shell", () => {
    const props = (h: Harness, name: string): string[] =>
      Object.keys((h.runtime.catalog().find((t) => t.name === name)?.parameters.properties ?? {}) as object);
    for (const name of ["file_read", "file_write", "edit", "apply_patch", "glob", "grep", "ls", "shell"]) {
      expect(props(selectable, name)).toContain("remote");
      expect(props(fixed, name)).not.toContain("remote");
    }
    expect(props(selectable, "shell_close")).not.toContain("remote");
  });

  it("fixed mode: every file tool works in the remote folder with the local result shapes", async () => {
    const write = await fixed.call("file_write", { file_path: "src/app.txt", content: "alpha\nbeta\ngamma\n" });
    expect(write).toMatchObject({ isError: false, content: "Created src/app.txt (17 bytes written)." });
    expect(write.details?.remote).toBe(`testbox:${root}`);
    expect(readFileSync(join(root, "src/app.txt"), "utf8")).toBe("alpha\nbeta\ngamma\n");
    expect(existsSync(join(fixed.workspace, "src/app.txt"))).toBe(false);

    const read = await fixed.call("file_read", { file_path: "src/app.txt", offset: 2, limit: 1 });
    expect(read.content).toBe("src/app.txt (lines 2-2 of 3)\n2: beta\n[1 more lines: call file_read with offset=3 to continue]");

    const edit = await fixed.call("edit", { path: "src/app.txt", old_text: "beta", new_text: "BETA" });
    expect(edit.content).toBe("Edited src/app.txt: 1 replacement (first at line 2).");
    const ambiguous = await fixed.call("edit", { path: "src/app.txt", old_text: "a\n", new_text: "x" });
    expect(ambiguous.isError).toBe(true);
    expect(ambiguous.content).toContain("matched 2 locations");

    const patch = "--- a/src/app.txt\n+++ b/src/app.txt\n@@ -1,3 +1,3 @@\n alpha\n-BETA\n+beta2\n gamma\n--- /dev/null\n+++ b/notes/new.md\n@@ -0,0 +1 @@\n+# new\n";
    const applied = await fixed.call("apply_patch", { patch });
    expect(applied.isError).toBe(false);
    expect(applied.content).toContain("M src/app.txt (+1 -1)");
    expect(readFileSync(join(root, "src/app.txt"), "utf8")).toBe("alpha\nbeta2\ngamma\n");
    expect(readFileSync(join(root, "notes/new.md"), "utf8")).toBe("# new\n");

    const glob = await fixed.call("glob", { pattern: "*.md" });
    expect(glob.content).toBe("1 file match *.md in the workspace:\nnotes/new.md");
    const grep = await fixed.call("grep", { pattern: "(?i)GAMMA|new", include: "*.txt" });
    expect(grep.content).toBe("1 matches in 1 file:\nsrc/app.txt:3:gamma");
    const ls = await fixed.call("ls", {});
    expect(ls.content).toBe("num_entries: 4\n\n- ./\n  - notes/\n    - new.md\n  - src/\n    - app.txt");
    const missing = await fixed.call("file_read", { file_path: "nope.txt" });
    expect(missing).toMatchObject({ isError: true, details: { kind: "not_found" } });
  });

  it("fixed mode: file_read streams a large remote file and still counts its lines", async () => {
    const line = "x".repeat(99);
    writeFileSync(join(root, "big.log"), `${line}\n`.repeat(90_000) + "last\n");
    const result = await fixed.call("file_read", { file_path: "big.log", offset: 90_001, limit: 5 });
    expect(result.content).toBe("big.log (lines 90001-90001 of 90001)\n90001: last");
  });

  it("fixed mode: file_read of a file with huge lines sends only the first 2000 characters of each", async () => {
    // One 20 MB line, then a CRLF line: the helper's answer must stay small (it used to carry the
    // whole line, so a remote file with a 1 GB line took gigabytes of worker memory).
    writeFileSync(join(root, "oneline.txt"), `${"y".repeat(20_000_000)}\nshort\r\n`);
    const answer = spawnSync("python3", ["-c", helperScript()], { input: JSON.stringify({ op: "read", root, path: "oneline.txt", start: 1, limit: 10, clip: 2_000, whole: WHOLE_FILE_BYTES }), maxBuffer: 1 << 30 });
    expect(JSON.parse(answer.stdout.toString()).ok).toBe(true);
    expect(answer.stdout.length).toBeLessThan(10_000);
    const result = await fixed.call("file_read", { file_path: "oneline.txt" });
    expect(result.content).toBe(`oneline.txt (lines 1-2 of 2)\n1: ${"y".repeat(2_000)}… [19998000 more characters]\n2: short`);
    writeFileSync(join(root, "small.txt"), `${"z".repeat(2_500)}\r\nok\n`);
    const small = await fixed.call("file_read", { file_path: "small.txt" });
    expect(small.content).toBe(`small.txt (lines 1-2 of 2)\n1: ${"z".repeat(2_000)}… [500 more characters]\n2: ok`);
  });

  it("edit and apply_patch refuse a remote file over 8 MB with a clear error, leaving it unchanged", async () => {
    const big = `${"v".repeat(99)}\n`.repeat(100_000) + "needle\n";
    writeFileSync(join(root, "huge.txt"), big);
    const edit = await fixed.call("edit", { path: "huge.txt", old_text: "needle", new_text: "pin" });
    expect(edit).toMatchObject({ isError: true, details: { kind: "failed" } });
    expect(edit.content).toContain("huge.txt is 10000007 bytes; edit and apply_patch over ssh take files up to 8 MB (8388608 bytes)");
    expect(edit.content).toContain("use shell on testbox");
    const patch = "--- a/huge.txt\n+++ b/huge.txt\n@@ -100001 +100001 @@\n-needle\n+pin\n";
    const applied = await fixed.call("apply_patch", { patch });
    expect(applied.isError).toBe(true);
    expect(applied.content).toContain("edit and apply_patch over ssh take files up to 8 MB");
    expect(readFileSync(join(root, "huge.txt"), "utf8")).toBe(big);
  });

  it("runSsh stops collecting a remote command's output at 64 MB: ssh and the remote command are killed", async () => {
    const signal = new AbortController().signal;
    // The master connection first, so no process started below keeps the marker in its command line.
    await checkReachable("testbox", signal);
    const marker = `starling-cap-${process.pid}-${Date.now()}`;
    const outcome = await runSsh("testbox", `head -c 200000000 /dev/zero # ${marker}`, "", signal).then(
      (result) => `finished with ${result.stdout.length} bytes`,
      (error: Error) => error.message,
    );
    expect(outcome).toBe("The remote operation on SSH host testbox sent more than 64 MB (67108864 bytes) and was stopped. Work on a smaller part: file_read with offset and limit, grep or glob with a narrower path or include, or shell on the remote host for large files.");
    const withMarker = (): number[] =>
      readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) && processAlive(pid);
        } catch {
          return false;
        }
      });
    const deadline = Date.now() + 30_000;
    while (withMarker().length && Date.now() < deadline) await sleep(50);
    expect(withMarker()).toEqual([]);
  });

  it("fixed mode: paths are confined to the remote folder, symlinks included", async () => {
    writeFileSync(join(sshd?.dir ?? "", "secret.txt"), "outside");
    symlinkSync(join(sshd?.dir ?? "", "secret.txt"), join(root, "link.txt"));
    for (const path of ["../secret.txt", join(sshd?.dir ?? "", "secret.txt"), "link.txt"]) {
      const result = await fixed.call("file_read", { file_path: path });
      expect(result).toMatchObject({ isError: true, details: { kind: "path_escape" } });
      expect(result.content).toContain("outside the remote workspace");
    }
    const write = await fixed.call("file_write", { file_path: "link.txt", content: "x" });
    expect(write.details?.kind).toBe("path_escape");
    expect(readFileSync(join(sshd?.dir ?? "", "secret.txt"), "utf8")).toBe("outside");
  });

  it("fixed mode: shell runs in the remote folder, output logged locally, exit code kept", async () => {
    const result = await fixed.call("shell", { command: "pwd; echo to-stderr >&2; exit 3" });
    expect(result.isError).toBe(false);
    expect(result.content).toContain(root);
    expect(result.content).toContain("to-stderr");
    expect(result.details).toMatchObject({ exitCode: 3, running: false, remote: `testbox:${root}` });
    const log = readFileSync(join(fixed.workspace, String(result.details?.outPath)), "utf8");
    expect(log).toContain("to-stderr");
  });

  it("fixed mode: a background remote session takes input, is polled and closed", async () => {
    /** The session's output from `first` on, polled until it holds `text` (the command never ends, so a poll waits out its wait_ms). */
    const pollUntil = async (id: string, first: string, text: string): Promise<string> => {
      let seen = first;
      for (const deadline = Date.now() + 20_000; !seen.includes(text) && Date.now() < deadline; ) {
        seen += (await fixed.call("shell", { session_id: id, wait_ms: 100 })).content;
      }
      return seen;
    };
    const first = await fixed.call("shell", { command: "echo ready; read line; echo got:$line; sleep 30", wait_ms: 0 });
    expect(first.details).toMatchObject({ running: true });
    const id = String(first.details?.sessionId);
    expect(await pollUntil(id, first.content, "ready")).toContain("ready");
    const fed = await fixed.call("shell", { session_id: id, input: "hello\n", wait_ms: 0 });
    expect(await pollUntil(id, fed.content, "got:hello")).toContain("got:hello");
    const closed = await fixed.call("shell_close", { session_id: id });
    expect(closed.content).toContain("stopped (process group killed)");
  });

  it("cancel stops the remote command itself; killAll (which a cancelled turn waits for) returns only once it is gone", async () => {
    const marker = join(root, "long.pid");
    const controller = new AbortController();
    // Ignores SIGTERM, as a command busy cleaning up would: only the wrapper's SIGKILL, 200 ms later, ends it.
    const running = fixed.call("shell", { command: `trap "" TERM; echo $$ > ${marker}; exec sleep 300` }, controller.signal);
    const pid = await remotePid(marker);
    controller.abort();
    const stopped = fixed.runtime.killAll();
    const result = await running;
    expect(result.details?.kind).toBe("aborted");
    expect(result.content).toContain("so the command is being stopped on testbox (its process group is killed there)");
    await stopped;
    expect(processAlive(pid), "the remote command is gone when killAll returns").toBe(false);
  });

  it("shell_close of a remote session returns once the remote command is gone", async () => {
    const marker = join(root, "close.pid");
    const first = await fixed.call("shell", { command: `trap "" TERM; echo $$ > ${marker}; exec sleep 300`, wait_ms: 0 });
    const pid = await remotePid(marker);
    const closed = await fixed.call("shell_close", { session_id: String(first.details?.sessionId) });
    expect(closed.content).toContain("stopped (process group killed)");
    expect(processAlive(pid), "the remote command is gone when shell_close returns").toBe(false);
  });

  it("cancel over a connection that stopped answering is over by itself (REMOTE_STOP_MS), not held by it; the command stops once it answers again", async () => {
    const marker = join(root, "silent.pid");
    const controller = new AbortController();
    const running = fixed.call("shell", { command: `echo $$ > ${marker}; exec sleep 300` }, controller.signal);
    const pid = await remotePid(marker);
    sshd?.signalConnections("SIGSTOP");
    try {
      controller.abort();
      // Over by itself (it gives up on ssh after REMOTE_STOP_MS), where waiting for the frozen connection never ends:
      // 10 x REMOTE_STOP_MS tells the two apart without timing the give-up on a loaded machine.
      const stopped = Promise.all([fixed.runtime.killAll(), running]).then(([, result]) => result);
      const result = await Promise.race([stopped, sleep(10 * REMOTE_STOP_MS).then(() => "still waiting" as const)]);
      expect(result === "still waiting" ? result : result.details?.kind).toBe("aborted");
    } finally {
      sshd?.signalConnections("SIGCONT");
    }
    const gone = Date.now() + 30_000;
    while (processAlive(pid) && Date.now() < gone) await sleep(20);
    expect(processAlive(pid)).toBe(false);
  });

  it("a dropped connection mid-command is a clear error naming the host; the next call connects again", async () => {
    const marker = join(root, "drop.pid");
    const running = fixed.call("shell", { command: `echo started; echo $$ > ${marker}; exec sleep 300`, wait_ms: 60_000 });
    const pid = await remotePid(marker);
    sshd?.signalConnections("SIGKILL");
    const result = await running;
    expect(result.isError).toBe(true);
    expect(result.content).toContain("started");
    expect(result.content).toMatch(/\[connection to SSH host testbox lost after [\d.]+ s \(ssh exit 255, no end reported by the command\)/);
    expect(result.content).toContain("outcome is unknown");
    expect(result.details).toMatchObject({ connectionLost: true, exitCode: 255 });
    const gone = Date.now() + 30_000;
    while (processAlive(pid) && Date.now() < gone) await sleep(20);
    expect(processAlive(pid)).toBe(false);
    // A command's own exit 255 is reported as such, over a new connection.
    const own = await fixed.call("shell", { command: "echo again; exit 255" });
    expect(own.content).toMatch(/again\n\[exit code 255 · /);
    expect(own.details).toMatchObject({ exitCode: 255 });
    expect(own.details?.connectionLost).toBeUndefined();
  });

  it("a remote command also stops when ssh's stdin closes, as when the worker dies", async () => {
    const marker = join(root, "eof.pid");
    const launch = await new RemoteWorkspace("testbox", root).shellLaunch(`echo $$ > ${marker}; exec sleep 300`, new AbortController().signal);
    const ssh = spawn(launch.program, launch.args, { env: launch.env, stdio: ["pipe", "ignore", "ignore"] });
    const pid = await remotePid(marker);
    ssh.stdin.end();
    const gone = Date.now() + 30_000;
    while (processAlive(pid) && Date.now() < gone) await sleep(20);
    expect(processAlive(pid)).toBe(false);
    ssh.kill("SIGKILL");
  });

  it("selectable mode: `remote` picks the host, paths are relative to the remote home, absent means local", async () => {
    const home = join(sshd?.dir ?? "", "home");
    const remote = await selectable.call("file_write", { file_path: "r.txt", content: "remote", remote: "testbox" });
    expect(remote.isError).toBe(false);
    expect(readFileSync(join(home, "r.txt"), "utf8")).toBe("remote");
    const local = await selectable.call("file_write", { file_path: "l.txt", content: "local" });
    expect(local.isError).toBe(false);
    expect(readFileSync(join(selectable.workspace, "l.txt"), "utf8")).toBe("local");
    expect(existsSync(join(home, "l.txt"))).toBe(false);
    const shell = await selectable.call("shell", { command: "cat r.txt; echo; pwd", remote: "testbox" });
    expect(shell.content).toContain(`remote\n${home}`);
    await mkdir(join(home, "d"));
    const ls = await selectable.call("ls", { path: "~/d", remote: "testbox" });
    expect(ls.content).toBe("num_entries: 0\n\n- d/");
  });

  it("selectable mode: an unsafe alias is refused before any ssh runs", async () => {
    for (const alias of ["host;rm -rf /", "-oProxyCommand=x", "local", "a b", "$(id)"]) {
      const result = await selectable.call("file_read", { file_path: "x", remote: alias });
      expect(result).toMatchObject({ isError: true, details: { kind: "invalid_arguments" } });
      expect(result.content).toContain("must be a safe ~/.ssh/config Host alias");
    }
  });

  it("selectable mode: only Host aliases of the ssh_config are reachable, not any hostname, IP or user@host", async () => {
    for (const alias of ["127.0.0.1", "root@testbox", "localhost", "nosuchalias"]) {
      for (const [name, args] of [["file_read", { file_path: "x" }], ["shell", { command: "echo never" }]] as const) {
        const result = await selectable.call(name, { ...args, remote: alias });
        expect(result).toMatchObject({ isError: true, details: { kind: "invalid_arguments" } });
        expect(result.content).toContain(`remote "${alias}" is not a Host alias defined in ${sshd?.configFile} (the Host aliases there: deadbox, testbox)`);
      }
    }
  });

  it("an unreachable host is a clear tool error, for file tools and shell", async () => {
    for (const [name, args] of [
      ["file_read", { file_path: "x" }],
      ["shell", { command: "echo never" }],
    ] as const) {
      const result = await selectable.call(name, { ...args, remote: "deadbox" });
      expect(result.isError).toBe(true);
      expect(result.content).toContain("Cannot reach SSH host deadbox");
      expect(result.content).toMatch(/Connection refused/i);
    }
  });
});
