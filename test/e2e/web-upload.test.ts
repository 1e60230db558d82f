// Web uploads go to disk as they arrive: concurrent large uploads do not grow the host's memory, and an
// upload that is aborted or over the limit leaves no file (not even a partial one) in the workspace.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./host-harness.js";
import { startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";
import { killAndWait } from "../fakes/kill-and-wait.js";

const MB = 1024 * 1024;

/** The host's peak resident memory so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

describe("web uploads", () => {
  let e2e: WebE2E;
  let conv: string;
  let workspace: string;
  const url = (path: string) => `/api/conversations/${conv}/workspace/file?path=${encodeURIComponent(path)}`;
  const upload = (path: string, body: BodyInit, init: RequestInit = {}) =>
    e2e.call(url(path), { method: "POST", body, headers: { "content-type": "application/octet-stream" }, ...init });
  /** Names in a workspace folder (temporary upload files included). */
  const names = (dir: string) => (existsSync(join(workspace, dir)) ? readdirSync(join(workspace, dir)) : []);

  beforeAll(async () => {
    e2e = await startWebE2E(() => ({ text: "ok" }));
    await e2e.start();
    conv = (await e2e.json("/api/conversations", { method: "POST", json: { title: "uploads" } })).conversation_id;
    workspace = join(e2e.workdir, "conversations", conv);
  }, 60_000);
  afterAll(() => e2e?.close());

  it("5 concurrent 40 MB uploads raise the host's peak memory by far less than their size", async () => {
    const pid = e2e.host!.child.pid!;
    const warm = await upload("big/warm.bin", Buffer.alloc(MB, 1));
    expect(warm.status).toBe(201);
    const body = Buffer.alloc(40 * MB, 7);
    const before = peakRss(pid);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => upload(`big/file-${n}.bin`, body)));
    const growth = peakRss(pid) - before;
    for (const [i, res] of results.entries()) {
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ path: `big/file-${i + 1}.bin`, size: 40 * MB });
      expect(statSync(join(workspace, "big", `file-${i + 1}.bin`)).size).toBe(40 * MB);
    }
    // Buffered, each upload is held whole and copied once more: 390 MB measured for these five. Streamed,
    // the peak is the received chunks V8 has not collected yet: 33 to 61 MB measured, as much for 1 as for 5.
    expect(growth, `host peak memory grew ${(growth / MB).toFixed(1)} MB`).toBeLessThan(100 * MB);
    expect(names("big").sort()).toEqual(["file-1.bin", "file-2.bin", "file-3.bin", "file-4.bin", "file-5.bin", "warm.bin"]);
  }, 120_000);

  it("an upload over 50 MB is a 413 and leaves no file, with or without a Content-Length", async () => {
    const tooBig = await upload("over/declared.bin", Buffer.alloc(51 * MB, 1));
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).error.code).toBe("too_large");
    // Chunked: the limit is only met while the bytes are written.
    const chunks = (function* () {
      for (let i = 0; i < 51; i++) yield new Uint8Array(MB).fill(2);
    })();
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
    const chunked = await upload("over/chunked.bin", stream, { duplex: "half" } as RequestInit);
    const answer = await chunked.text();
    expect(chunked.status, answer).toBe(413);
    expect(JSON.parse(answer).error.message).toMatch(/over the 50 MB limit/);
    await until(() => names("over").length === 0, 10_000, "the partial file removed");
    expect(names("over")).toEqual([]);
  }, 60_000);

  it("an upload whose client goes away leaves no file, and an earlier file of that name stays as it was", async () => {
    expect((await upload("cut/file.bin", "the old content")).status).toBe(201);
    const { port } = new URL(e2e.origin);
    const sent = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: Number(port),
        method: "POST",
        path: url("cut/file.bin"),
        headers: { authorization: `Bearer ${WEB_TOKEN}`, "content-type": "application/octet-stream", "content-length": String(40 * MB) },
      });
      req.on("error", () => undefined);
      let written = 0;
      const chunk = Buffer.alloc(MB, 3);
      const more = () => {
        while (written < 10 * MB) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", more);
        }
        // Wait until the host has written some of it, then drop the connection mid-body.
        until(() => names("cut").length > 1, 10_000, "the upload's temporary file").then(() => {
          req.destroy();
          resolve(written);
        }, reject);
      };
      more();
    });
    expect(sent).toBe(10 * MB);
    await until(() => names("cut").length === 1, 10_000, "the partial file removed");
    expect(names("cut")).toEqual(["file.bin"]);
    expect(readFileSync(join(workspace, "cut", "file.bin"), "utf8")).toBe("the old content");
  }, 60_000);

  it("an upload through a folder swapped for a symlink out of the workspace writes nothing outside", async () => {
    // A tool process can change the workspace while the host writes an upload: here a perl loop swaps the
    // folder `d` between a real folder and a symlink to a folder outside (each rename is atomic).
    const outside = join(e2e.workdir, "..", "outside-race");
    mkdirSync(outside);
    mkdirSync(join(workspace, "race", "real"), { recursive: true });
    mkdirSync(join(workspace, "race", "d"));
    symlinkSync(outside, join(workspace, "race", "evil"));
    const swap = `chdir $ARGV[0]; rmdir "d"; rename("real","d"); while (1) { rename("d","real"); rename("evil","d"); rename("d","evil"); rename("real","d"); }`;
    const swapper = spawn("perl", ["-e", swap, join(workspace, "race")], { stdio: "ignore" });
    const statuses: number[] = [];
    try {
      const until = Date.now() + 3000;
      for (let i = 0; Date.now() < until; i += 8) {
        const batch = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((j) => upload(`race/d/up-${i + j}.txt`, `upload ${i + j}`)));
        statuses.push(...batch.map((r) => r.status));
      }
    } finally {
      await killAndWait(swapper);
    }
    expect(readdirSync(outside), `${statuses.length} uploads`).toEqual([]);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 201 && s !== 400)).toEqual([]);
  }, 60_000);
});
