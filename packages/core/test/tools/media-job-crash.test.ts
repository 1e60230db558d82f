// A media job's records at their named write points: a worker killed right after either leaves what the next worker
// reports (interrupted after the start, the answer after the end).
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MediaJobStore } from "../../src/tools/media/media-job-store.js";
import { MediaJobs } from "../../src/tools/media/media-jobs.js";
import { makeHarness } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/media-job-child.ts", import.meta.url));

function runChild(workspace: string, env: Record<string, string>): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, workspace], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ out, code })));
}

const nextWorker = (workspace: string) => new MediaJobs(new MediaJobStore(join(workspace, ".starling", "media-jobs", "test.foreground")));
const never = new AbortController().signal;

describe("media job crash points", () => {
  it("media_job_start leaves a job the next worker reports interrupted; media_job_end one it answers", async () => {
    const hs = await makeHarness();
    const he = await makeHarness();
    try {
      const start = await runChild(hs.workspace, { STARLING_CRASH_AT: "media_job_start" });
      expect(start.out).toBe(""); // died before it could say it started
      expect(start.code).not.toBe(0);
      const [name] = readdirSync(join(hs.workspace, ".starling/media-jobs/test.foreground"));
      const id = name!.replace(/\.json$/, "");
      expect(await nextWorker(hs.workspace).wait(id, 1000, never)).toMatchObject({ state: "failed", error: expect.stringContaining("interrupted") });

      const end = await runChild(he.workspace, { STARLING_CRASH_AT: "media_job_end" });
      const endId = /started (\S+)/.exec(end.out)?.[1];
      expect(endId).toBeTruthy();
      expect(end.out).not.toContain("ended"); // the answer was stored, then the worker died before handing it out
      expect(await nextWorker(he.workspace).wait(endId!, 1000, never)).toEqual({ state: "completed", result: { text: "the helper's answer", files: [] } });
    } finally {
      await hs.cleanup();
      await he.cleanup();
    }
  });
});
