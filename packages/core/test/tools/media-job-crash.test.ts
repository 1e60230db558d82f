// A media job's records at their named write points: a worker killed right after either leaves what the next worker
// reports (interrupted after the start, the answer after the end).
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
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

const nextWorker = (workspace: string) => new MediaJobs(new MediaJobStore(workspace, "test.foreground"), workspace);
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

describe("media job records", () => {
  it("a job stopped by the worker's shutdown is interrupted for the next worker; one stopped by /cancel is cancelled", async () => {
    const h = await makeHarness();
    try {
      const hang = () => new Promise<{ text: string; files: [] }>(() => undefined);
      const first = nextWorker(h.workspace);
      const cancelled = first.start("image", hang);
      first.stopAll(); // /cancel
      const cut = first.start("image", hang);
      first.beforeShutdown();
      first.stopAll(); // the worker shuts down
      const next = nextWorker(h.workspace);
      expect(await next.wait(cancelled, 0, never)).toEqual({ state: "cancelled" });
      expect(await next.wait(cut, 0, never)).toMatchObject({ state: "failed", error: expect.stringContaining("interrupted") });
    } finally {
      await h.cleanup();
    }
  });

  it("a record that is a link or a FIFO is not read, and nothing is read or written through a linked folder", async () => {
    const h = await makeHarness();
    try {
      const dir = join(h.workspace, ".starling/media-jobs/test.foreground");
      mkdirSync(dir, { recursive: true });
      const secret = join(h.outside, "secret.json");
      writeFileSync(secret, JSON.stringify({ id: "image_linked1", state: "completed", text: "the secret", started_at: "x" }));
      symlinkSync(secret, join(dir, "image_linked1.json"));
      execFileSync("mkfifo", [join(dir, "image_fifo1.json")]);
      const jobs = nextWorker(h.workspace);
      expect(await jobs.wait("image_linked1", 0, never)).toBeNull();
      expect(await jobs.wait("image_fifo1", 0, never)).toBeNull(); // did not wait on the FIFO

      // The folder itself swapped for a link to an outside folder: nothing is read or written there.
      const other = join(h.workspace, ".starling/media-jobs/other.session");
      symlinkSync(h.outside, other);
      const linked = new MediaJobs(new MediaJobStore(h.workspace, "other.session"), h.workspace);
      writeFileSync(join(h.outside, "image_outside1.json"), JSON.stringify({ id: "image_outside1", state: "completed", text: "outside", started_at: "x" }));
      expect(await linked.wait("image_outside1", 0, never)).toBeNull();
      expect(() => linked.start("image", async () => ({ text: "t", files: [] }))).toThrow();
      expect(readdirSync(h.outside).sort()).toEqual(["image_outside1.json", "secret.json"]);
      expect(existsSync(join(h.outside, "image_linked1.json"))).toBe(false);
    } finally {
      await h.cleanup();
    }
  });
});
