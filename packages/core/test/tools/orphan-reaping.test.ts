import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hostPid } from "../../../../test/fixtures/host-pid.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import { makeHarness, processAlive, type Harness } from "./helpers.js";

const waitGone = async (pid: number) => {
  for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
};

describe("shell commands left behind by a killed worker", () => {
  let h: Harness;
  afterEach(async () => h?.cleanup());

  // A background command that outlives its tool call, with a grandchild in the same group or in its own session.
  it.each([
    ["in the command's process group", "sleep 60 & echo $! > child.pid; sleep 60"],
    ["that left the process group (setsid)", "setsid sleep 60 & echo $! > child.pid; sleep 60"],
  ])("are stopped when the next worker of the same session starts: a grandchild %s", async (_what, command) => {
    h = await makeHarness();
    await h.call("shell", { command, wait_ms: 200 });
    const child = hostPid(Number(readFileSync(join(h.workspace, "child.pid"), "utf8")), h.workspace);
    expect(processAlive(child)).toBe(true);
    // The old runtime is abandoned without killAll, as after kill -9 of its worker.
    const next = new ToolRuntime({ workspace: h.workspace, sessionId: "test.foreground", coordinate: async () => null });
    await waitGone(child);
    expect(processAlive(child)).toBe(false);
    await next.dispose();
  });

  it("of another session are left alone", async () => {
    h = await makeHarness();
    await h.call("shell", { command: "sleep 60 & echo $! > child.pid; sleep 60", wait_ms: 200 });
    const child = hostPid(Number(readFileSync(join(h.workspace, "child.pid"), "utf8")), h.workspace);
    const other = new ToolRuntime({ workspace: h.workspace, sessionId: "other.foreground", coordinate: async () => null });
    await new Promise((r) => setTimeout(r, 100));
    expect(processAlive(child)).toBe(true);
    await other.dispose();
    await h.runtime.killAll();
  });
});
