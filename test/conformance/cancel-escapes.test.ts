// /cancel and a worker's kill -9 in subprocess mode stop what a command started even when it cleared its environment
// (no STARLING_PROCESS_TAG) and left its process group: `env -i setsid`, a double fork (docs/SECURITY.md "What leaves the
// process group"). Real worker, real processes; the escaped sleeps are found by a marker in their command line.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolSandbox } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { hostPid, pidNamespacesWork, pidsRunning } from "../fixtures/host-pid.js";
import { newEnv, processGone, until, userMessage } from "./harness.js";

/** Two escapes with a cleared environment, each writing its pid: `env -i setsid`, and a daemon's double fork in a new session. */
function escapes(marker: string): string {
  return (
    `env -i setsid sh -c 'sleep ${marker} & echo $! > setsid.pid' </dev/null >/dev/null 2>&1; ` +
    `env -i setsid sh -c '(sleep ${marker} & echo $! > fork.pid) &' </dev/null >/dev/null 2>&1; `
  );
}

const readPid = (dir: string, file: string): number =>
  existsSync(join(dir, file)) ? Number.parseInt(readFileSync(join(dir, file), "utf8"), 10) || 0 : 0;

const namespaces = pidNamespacesWork();

describe.skipIf(!namespaces)("escaped processes in subprocess mode (skipped: this machine cannot make PID namespaces)", () => {
  it.for([
    ["while the command runs", "sleep 30"],
    ["left behind by a command that finished", "true"],
  ] as const)("/cancel stops what left its group with a cleared environment, %s", async ([, tail], ctx) => {
    const marker = `10${process.pid % 1000}.${Date.now() % 1000}1`;
    let requests = 0;
    const { dir, start } = await newEnv(ctx, {
      responder: () => (++requests === 1 ? { toolCalls: [{ name: "shell", arguments: { command: escapes(marker) + tail, wait_ms: 60_000 } }] } : { hang: true }),
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "start the escapes"));
    await until("both escapes wrote their pids", () => readPid(dir, "setsid.pid") > 0 && readPid(dir, "fork.pid") > 0);
    const pids = ["setsid.pid", "fork.pid"].map((file) => hostPid(readPid(dir, file), dir));
    await until("both escaped sleeps run", () => pidsRunning(["sleep", marker]).length === 2);
    expect(pids.every((pid) => pidsRunning(["sleep", marker]).includes(pid))).toBe(true);

    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", undefined, 5000);
    // Gone by the time the chat is told "cancelled".
    expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
    expect(pidsRunning(["sleep", marker])).toEqual([]);
  });

  it("a worker's kill -9 takes what its commands started with it, escapes included", async (ctx) => {
    const marker = `11${process.pid % 1000}.${Date.now() % 1000}1`;
    const { dir, start } = await newEnv(ctx, {
      responder: () => ({ toolCalls: [{ name: "shell", arguments: { command: `${escapes(marker)}sleep ${marker}`, wait_ms: 60_000 } }] }),
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "start the escapes"));
    await until("the command and both escapes run", () => readPid(dir, "setsid.pid") > 0 && readPid(dir, "fork.pid") > 0 && pidsRunning(["sleep", marker]).length === 3);
    const pids = pidsRunning(["sleep", marker]);

    w.client.kill("SIGKILL");
    expect((await w.exited()).signal).toBe("SIGKILL");
    // No new worker is started: nothing reaps them but the worker's death itself (without the namespace they ran on for 30 s and more).
    await until("all three are gone", () => pids.every(processGone), 5000);
  });

  it.for([
    ["by default, in a namespace of their own", undefined, 2],
    ["with sandbox.pid_namespace false, as the machine's own processes", false, 1],
  ] as const)("commands run %s", async ([, pidNamespace, levels], ctx) => {
    let requests = 0;
    const { dir, start } = await newEnv(ctx, {
      responder: () => (++requests === 1 ? { toolCalls: [{ name: "shell", arguments: { command: "echo $$ > self.pid; sleep 30", wait_ms: 60_000 } }] } : { hang: true }),
    });
    const sandbox = ToolSandbox.parse({ mode: "subprocess", ...(pidNamespace === undefined ? {} : { pidNamespace }) });
    const w = await start({ init: { sandbox } });
    await w.client.enqueue(userMessage("m1", "who am I"));
    await until("the command wrote its pid", () => readPid(dir, "self.pid") > 0);
    // NSpid lists a process's pid in each PID namespace it is in, outermost first.
    const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${hostPid(readPid(dir, "self.pid"), dir)}/status`, "utf8"))?.[1]?.trim().split(/\s+/);
    expect(nspid?.length).toBe(levels);
    expect(await w.client.cancel()).toEqual({ accepted: true });
  });
});
