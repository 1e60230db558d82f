// Subprocess mode's PID namespace (src/tools/pid-namespace.ts) around its edges: its init killed from outside, and a
// command started while killAll (/cancel) is still stopping the old one's processes. Real unshare/nsenter, real processes.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { hostPid, pidNamespacesWork } from "../../../../test/fixtures/host-pid.js";
import { type Harness, makeHarness, processAlive } from "./helpers.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

let h: Harness;
afterEach(async () => h?.cleanup());

/** The inits of the namespaces this test process keeps: the one child of each `unshare` it started. */
function inits(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8").trimEnd();
      const [, comm = "", rest = ""] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
      if (comm !== "unshare" || Number(rest.split(" ")[1]) !== process.pid) continue;
      out.push(...readFileSync(`/proc/${name}/task/${name}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Exiting (PF_EXITING in the flags), a zombie, or gone. */
function exitingOrGone(pid: number): boolean {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return fields[0] === "Z" || (Number(fields[6]) & 0x4) !== 0;
  } catch {
    return true;
  }
}

const namespaces = pidNamespacesWork();

describe.skipIf(!namespaces)("the PID namespace of shell commands (skipped: this machine cannot make PID namespaces)", () => {
  it("is made anew when its init was killed from outside, for the very next command", async () => {
    h = await makeHarness();
    await h.call("shell", { command: "true" });
    const [init] = inits();
    expect(init).toBeGreaterThan(0);
    process.kill(init!, "SIGKILL");
    // Blocked until the kernel has it, so the runtime has not heard of unshare's exit yet: it used to enter the dead
    // namespace (`nsenter: cannot open /proc/<init>/ns/pid`, exit 1).
    while (!exitingOrGone(init!)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    const next = await h.call("shell", { command: "echo in $$" });
    expect(next.details).toMatchObject({ exitCode: 0 });
    expect(next.content).toMatch(/^in 2\b/);
    expect(inits()).toHaveLength(1);
  });

  it("is new for a command started while killAll still stops the old one's processes, which are gone after it", async () => {
    h = await makeHarness();
    // Ignores SIGTERM: killAll waits out its grace before the SIGKILL and the namespace's end.
    await h.call("shell", { command: "trap '' TERM; sleep 30 & echo $! > old.pid; wait", wait_ms: 0 });
    while (!existsSync(join(h.workspace, "old.pid"))) await sleep(10);
    const old = hostPid(Number(readFileSync(join(h.workspace, "old.pid"), "utf8")), h.workspace);
    const stopping = h.runtime.killAll();
    // Started after the cancel (a new turn): it used to land in the namespace being stopped and die with it (SIGKILL), or fail in nsenter.
    const next = await h.call("shell", { command: "sleep 0.6; echo survived" });
    await stopping;
    expect(next.details).toMatchObject({ exitCode: 0, signal: null });
    expect(next.content).toMatch(/^survived/);
    expect(processAlive(old)).toBe(false);
  });

  it("killAll is not held up by a command's zombie that the machine's pid 1 never reaps (node as a container's init)", () => {
    // nsenter dies with its command (one signal to the group): the command's zombie goes to the pid 1 of nsenter's
    // namespace, here the fixture's own node. killAll used to wait for it (the namespace's init waits until every zombie
    // of the namespace is reaped) up to its 2 s cap, on every /cancel.
    const asRoot = process.geteuid?.() === 0 ? [] : ["--user", "--map-root-user"];
    const out = execFileSync(
      "unshare",
      [...asRoot, "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--", process.execPath, "--import", "tsx", join(FIXTURES, "kill-all-under-node-init.ts")],
      { encoding: "utf8", timeout: 20_000 },
    );
    const result = JSON.parse(out.trim().split("\n").pop() ?? "{}") as { pid: number; running: boolean; warnings: string[]; killAllMs: number };
    // Not timed (killAllMs is only printed): killAll ended by itself, not by its wait cap, which warns.
    expect(result, `killAll took ${result.killAllMs} ms`).toMatchObject({ pid: 1, running: true, warnings: [] });
  });
});
