import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostPid } from "../../../../test/fixtures/host-pid.js";
import { type Harness, makeHarness, processAlive } from "./helpers.js";

async function waitForFile(path: string, ms = 5_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (text.trim() !== "" || Date.now() > deadline) return text.trim();
    await sleep(20);
  }
}

describe("shell", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("runs a command in the workspace and reports its exit code", async () => {
    const result = await h.call("shell", { command: "printf hello; pwd >&2" });
    expect(result.isError).toBe(false);
    expect(result.content).toMatch(/^hello/);
    expect(result.content).toContain(h.workspace);
    expect(result.content).toMatch(/\[exit code 0 · [\d.]+ s · full output: \.output\/shell\/\S+\.log\]$/);
    expect(result.details).toMatchObject({ running: false, exitCode: 0 });
    const full = await readFile(join(h.workspace, String(result.details?.outPath)), "utf8");
    expect(full).toContain("hello");
  });

  it("reports a failing command's exit code (not as a tool error)", async () => {
    const result = await h.call("shell", { command: "echo oops >&2; exit 3" });
    expect(result.isError).toBe(false);
    expect(result.content).toContain("oops");
    expect(result.content).toContain("[exit code 3");
    expect(result.details?.exitCode).toBe(3);
  });

  it("bounds long output to head + tail with the full output kept in a file", async () => {
    const result = await h.call("shell", { command: "seq 1 100000", max_output_chars: 400 });
    expect(result.isError).toBe(false);
    expect(result.content.length).toBeLessThan(700);
    expect(result.content).toMatch(/^1\n2\n/);
    expect(result.content).toContain("100000\n[exit code 0");
    expect(result.content).toMatch(/\[\.\.\. \d+ bytes omitted; full output in \.output\/shell\/\S+ \.\.\.\]/);
    expect(result.details?.outputTruncated).toBe(true);
    const full = await readFile(join(h.workspace, String(result.details?.outPath)), "utf8");
    expect(full.split("\n")).toHaveLength(100_001);
  });

  it("keeps a slow command as a background session: poll, input, close", async () => {
    const first = await h.call("shell", { command: "echo ready; read line; echo got:$line; sleep 30", wait_ms: 300 });
    expect(first.isError).toBe(false);
    expect(first.details).toMatchObject({ running: true });
    const id = String(first.details?.sessionId);
    expect(id).toMatch(/^sh_\d+$/);
    expect(first.content).toContain("ready");
    expect(first.content).toContain(`still running`);
    expect(first.content).toContain(`shell {"session_id":"${id}"}`);

    const polled = await h.call("shell", { session_id: id, input: "abc\n", wait_ms: 300 });
    expect(polled.isError).toBe(false);
    expect(polled.content).toContain("got:abc");
    expect(polled.content).not.toContain("ready");
    expect(polled.details?.running).toBe(true);

    const quiet = await h.call("shell", { session_id: id, wait_ms: 0 });
    expect(quiet.content).toContain("(no new output)");

    const pid = Number(first.details?.pid);
    const closed = await h.call("shell_close", { session_id: id });
    expect(closed).toMatchObject({ isError: false, details: { closed: true, wasRunning: true } });
    expect(processAlive(pid)).toBe(false);
    const again = await h.call("shell_close", { session_id: id });
    expect(again.details).toMatchObject({ closed: false, reason: "unknown_session" });
    const gone = await h.call("shell", { session_id: id });
    expect(gone).toMatchObject({ isError: true, details: { kind: "not_found" } });
    expect(gone.content).toContain(`Unknown shell session ${id}`);
  });

  it("a finished background command reports its exit code on the next poll", async () => {
    const first = await h.call("shell", { command: "sleep 0.3; echo done", wait_ms: 0, session_id: "build" });
    expect(first.details).toMatchObject({ running: true, sessionId: "build" });
    const polled = await h.call("shell", { session_id: "build", wait_ms: 5_000 });
    expect(polled.content).toContain("done");
    expect(polled.details).toMatchObject({ running: false, exitCode: 0 });
  });

  it("abort kills the whole process group and returns within about a second", async () => {
    const controller = new AbortController();
    const command = "echo $$ > shell.pid; (sleep 30; echo never) & echo $! > child.pid; sleep 30";
    const running = h.call("shell", { command }, controller.signal);
    const shellPid = hostPid(Number(await waitForFile(join(h.workspace, "shell.pid"))), h.workspace);
    const childPid = hostPid(Number(await waitForFile(join(h.workspace, "child.pid"))), h.workspace);
    expect(processAlive(shellPid)).toBe(true);
    expect(processAlive(childPid)).toBe(true);
    controller.abort();
    const result = await running;
    expect(result.isError).toBe(true);
    expect(result.details?.kind).toBe("aborted");
    expect(result.content).toContain("interrupted");
    expect(processAlive(shellPid)).toBe(false);
    expect(processAlive(childPid)).toBe(false);
  });

  it("abort while polling a background session stops waiting but leaves it running", async () => {
    const first = await h.call("shell", { command: "sleep 30", wait_ms: 0 });
    const id = String(first.details?.sessionId);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const polled = await h.call("shell", { session_id: id, wait_ms: 300_000 }, controller.signal);
    expect(polled.details).toMatchObject({ running: true });
    expect(polled.content).toContain("stopped waiting");
    expect(processAlive(Number(first.details?.pid))).toBe(true);
  });

  it("killAll stops background sessions and processes left behind by finished commands", async () => {
    const bg = await h.call("shell", { command: "echo $$; sleep 30", wait_ms: 200 });
    const bgPid = Number(bg.details?.pid);
    const leftover = await h.call("shell", { command: "sleep 30 >/dev/null 2>&1 & echo $!" });
    expect(leftover.details).toMatchObject({ running: false, exitCode: 0 });
    const orphanPid = hostPid(Number(/^(\d+)/.exec(leftover.content)?.[1]), h.workspace);
    expect(processAlive(bgPid)).toBe(true);
    expect(processAlive(orphanPid)).toBe(true);
    await h.runtime.killAll();
    expect(processAlive(bgPid)).toBe(false);
    expect(processAlive(orphanPid)).toBe(false);
  });

  // A daemon leaves its process group (setsid, or setpgid); what it inherited from the command still names it.
  it("abort also stops children that left the process group (setsid, setpgid)", async () => {
    const controller = new AbortController();
    const command =
      "setsid sh -c 'echo $$ > setsid.pid; exec sleep 30' & perl -e 'setpgrp(0,0); open(F, \">setpgid.pid\"); print F $$; close F; exec qw(sleep 30)' & sleep 30";
    const running = h.call("shell", { command }, controller.signal);
    const pids = [hostPid(Number(await waitForFile(join(h.workspace, "setsid.pid"))), h.workspace), hostPid(Number(await waitForFile(join(h.workspace, "setpgid.pid"))), h.workspace)];
    expect(pids.map(processAlive)).toEqual([true, true]);
    controller.abort();
    expect((await running).details?.kind).toBe("aborted");
    expect(pids.map(processAlive)).toEqual([false, false]);
  });

  it("killAll stops a daemon a finished command left behind in its own session, and shell_close one of a running command", async () => {
    const done = await h.call("shell", { command: "setsid sh -c 'while :; do date >> daemon.log; sleep 0.05; done' >/dev/null 2>&1 & echo $!" });
    expect(done.details).toMatchObject({ running: false, exitCode: 0 });
    const daemon = hostPid(Number(/^(\d+)/.exec(done.content)?.[1]), h.workspace);
    const bg = await h.call("shell", { command: "setsid sleep 30 & echo $! > bg.pid; sleep 30", wait_ms: 0 });
    const bgChild = hostPid(Number(await waitForFile(join(h.workspace, "bg.pid"))), h.workspace);
    expect([processAlive(daemon), processAlive(bgChild)]).toEqual([true, true]);
    await h.call("shell_close", { session_id: String(bg.details?.sessionId) });
    expect([processAlive(daemon), processAlive(bgChild)]).toEqual([true, false]);
    await h.runtime.killAll();
    expect(processAlive(daemon)).toBe(false);
    const size = (await readFile(join(h.workspace, "daemon.log"), "utf8")).length;
    await sleep(300);
    expect((await readFile(join(h.workspace, "daemon.log"), "utf8")).length).toBe(size);
  });

  it("background() counts what commands left running: a running session, a lingering group, a daemon that left it", async () => {
    expect(h.runtime.background()).toEqual({ commands: 0, jobs: 0 });
    await h.call("shell", { command: "true" });
    expect(h.runtime.background(), "a finished command that left nothing").toEqual({ commands: 0, jobs: 0 });

    const bg = await h.call("shell", { command: "sleep 30", wait_ms: 0 });
    expect(h.runtime.background().commands).toBe(1);
    await h.call("shell_close", { session_id: String(bg.details?.sessionId) });
    expect(h.runtime.background().commands).toBe(0);

    const leftover = await h.call("shell", { command: "sleep 30 >/dev/null 2>&1 & echo $!" });
    expect(leftover.details).toMatchObject({ running: false, exitCode: 0 });
    expect(h.runtime.background().commands, "a process left in the finished command's group").toBe(1);
    await h.runtime.killAll();
    expect(h.runtime.background().commands).toBe(0);

    const daemon = await h.call("shell", { command: "setsid sh -c 'exec sleep 30' >/dev/null 2>&1 </dev/null & echo $!" });
    expect(daemon.details).toMatchObject({ running: false, exitCode: 0 });
    expect(h.runtime.background().commands, "a daemon in its own session, found by its tag").toBe(1);
    await h.runtime.killAll();
    expect(h.runtime.background().commands).toBe(0);
  });

  it("a new command under a running session's id stops the old one", async () => {
    const old = await h.call("shell", { command: "sleep 30", session_id: "dev", wait_ms: 100 });
    const oldPid = Number(old.details?.pid);
    const next = await h.call("shell", { command: "echo second", session_id: "dev" });
    expect(next.content).toContain("was stopped");
    expect(next.content).toContain("second");
    expect(processAlive(oldPid)).toBe(false);
  });

  it("rejects bad arguments with structured errors", async () => {
    const none = await h.call("shell", {});
    expect(none.details?.kind).toBe("invalid_arguments");
    expect(none.content).toContain("Missing command");
    const badId = await h.call("shell", { session_id: "bad id!" });
    expect(badId.details?.kind).toBe("invalid_arguments");
    expect(badId.content).toContain("- session_id:");
    const badWait = await h.call("shell", { command: "true", wait_ms: 1000.5 });
    expect(badWait.content).toContain("- wait_ms:");
    const closeMissing = await h.call("shell_close", {});
    expect(closeMissing.content).toContain("- session_id:");
  });
});
