import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreezableProxy, startFreezableProxy } from "../../../../test/fakes/freezable-proxy.js";
import { type LoopbackSshd, startLoopbackSshd } from "../../../../test/fakes/loopback-sshd.js";
import { type Harness, makeHarness, processAlive, writtenPid } from "./helpers.js";

// A silent network partition (no RST, no FIN, nothing) between the worker and a real sshd on loopback: a TCP
// forwarder in front of the server drops every byte from one moment on. The keepalive is cut to 1 s
// (STARLING_TEST_SSH_ALIVE_SECONDS), so both sides give the connection up after 3 s instead of 45.
const SSH_ALIVE_ENV = "STARLING_TEST_SSH_ALIVE_SECONDS";
const started = await startLoopbackSshd();
const sshd: LoopbackSshd | null = "skip" in started ? null : started;
if ("skip" in started) console.warn(`remote partition tests skipped: ${started.skip}`);

/** Whether a shell log of the harness holds `text` (the command's output reached the worker). */
function logged(harness: Harness, text: string): boolean {
  const dir = join(harness.workspace, ".output", "shell");
  return existsSync(dir) && readdirSync(dir).some((name) => readFileSync(join(dir, name), "utf8").includes(text));
}

describe.skipIf(!sshd)("remote shell over a silent partition (loopback sshd behind a forwarder)", { timeout: 30_000 }, () => {
  const saved = { config: process.env.STARLING_SSH_CONFIG, alive: process.env[SSH_ALIVE_ENV] };
  let proxy: FreezableProxy;
  let harness: Harness;
  let root: string;

  beforeAll(async () => {
    if (!sshd) return;
    proxy = await startFreezableProxy(sshd.port);
    sshd.addAlias("partbox", proxy.port);
    process.env.STARLING_SSH_CONFIG = sshd.configFile;
    process.env[SSH_ALIVE_ENV] = "1";
    root = join(sshd.dir, "remote");
    harness = await makeHarness({ remote: { mode: "fixed", host: "partbox", path: root } });
  });
  afterAll(async () => {
    await harness?.cleanup();
    await proxy?.stop();
    await sshd?.stop();
    for (const [name, value] of [["STARLING_SSH_CONFIG", saved.config], [SSH_ALIVE_ENV, saved.alive]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("a quiet command outlives the silent limit while the connection is healthy, input or not", async () => {
    // Silent for longer than the limit; 200 kB of input it never reads (more than a pipe holds) must not stall the heartbeats.
    const first = await harness.call("shell", { command: "sleep 4.5; echo done", wait_ms: 0 });
    const id = String(first.details?.sessionId);
    await harness.call("shell", { session_id: id, input: "x".repeat(200_000), wait_ms: 0 });
    const result = await harness.call("shell", { session_id: id, wait_ms: 15_000 });
    expect(result.content).toMatch(/^done\n\[exit code 0 · /);
    // Input still reaches a command that reads it.
    const echo = await harness.call("shell", { command: "read a; read b; echo got:$a:$b", input: "one\ntwo\n", wait_ms: 10_000 });
    expect(echo.content).toMatch(/^got:one:two\n\[exit code 0 · /);
  });

  it("a silent partition mid-command: the result names the lost connection (not a command still running at wait_ms), and the remote command stops", async () => {
    const marker = join(root, "partition.pid");
    const running = harness.call("shell", { command: `echo started-partition; echo $$ > ${marker}; exec sleep 300`, wait_ms: 20_000 });
    const pid = await writtenPid(marker);
    expect(processAlive(pid)).toBe(true);
    while (!logged(harness, "started-partition")) await sleep(20);
    proxy.freeze();
    try {
      const result = await running;
      // Not timed: a connection not given up answers at wait_ms (20 s) with the command still running, not this.
      expect(result.content).toMatch(/^started-partition\n\[connection to SSH host partbox lost after [\d.]+ s \(ssh exit 255, no end reported by the command\)/);
      expect(result.content).toContain("or after 3 s without a word from here if the network went silent");
      expect(result.details).toMatchObject({ connectionLost: true, exitCode: 255 });
      // The remote sshd still holds its (silent) connection open; the wrapper stops the command by itself.
      const deadline = Date.now() + 30_000;
      while (processAlive(pid) && Date.now() < deadline) await sleep(50);
      expect(processAlive(pid), "the remote command is stopped although the remote side never saw the connection close").toBe(false);
    } finally {
      if (processAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
