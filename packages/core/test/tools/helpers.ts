import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import type { ToolRunResult, ToolRuntimeOptions } from "../../src/tools/types.js";

export interface Harness {
  /** Real path of a fresh workspace folder. */
  workspace: string;
  /** Real path of a fresh folder outside the workspace. */
  outside: string;
  runtime: ToolRuntime;
  call(name: string, args: Record<string, unknown> | string, signal?: AbortSignal): Promise<ToolRunResult>;
  cleanup(): Promise<void>;
}

let callCounter = 0;

export async function makeHarness(extra: Partial<ToolRuntimeOptions> = {}): Promise<Harness> {
  const base = await realpath(await mkdtemp(join(tmpdir(), "starling-tools-")));
  const workspace = join(base, "ws");
  const outside = join(base, "outside");
  await mkdir(workspace);
  await mkdir(outside);
  const runtime = new ToolRuntime({
    workspace,
    sessionId: "test.foreground",
    coordinate: async () => {
      throw new Error("no host in tests");
    },
    ...extra,
  });
  return {
    workspace,
    outside,
    runtime,
    call(name, args, signal = new AbortController().signal) {
      callCounter += 1;
      const text = typeof args === "string" ? args : JSON.stringify(args);
      return runtime.run({ id: `call_${callCounter}`, name, arguments: text }, { turnId: 1, signal });
    },
    async cleanup() {
      await runtime.dispose();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** `true` while a process with this pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie (exited, not yet reaped by a non-reaping init) counts as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch (error) {
    // Reaped between the two looks: gone.
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/**
 * The pid a command wrote to `marker` (`echo $$ > marker`), once the whole line is there: the shell creates
 * the file before `echo` writes into it, so the file alone can still be empty. 0 if it never came.
 */
export async function writtenPid(marker: string, waitMs = 30_000): Promise<number> {
  const deadline = Date.now() + waitMs;
  const written = () => (existsSync(marker) ? readFileSync(marker, "utf8") : "");
  while (!written().endsWith("\n") && Date.now() < deadline) await sleep(20);
  return Number(written().trim());
}
