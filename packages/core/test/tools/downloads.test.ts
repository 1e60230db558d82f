import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadTools } from "../../src/tools/downloads/download-tools.js";
import { Downloads } from "../../src/tools/downloads/downloads.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import type { AddressPolicy } from "../../src/tools/web/address-policy.js";
import { WorkspacePaths } from "../../src/tools/workspace-paths.js";
import { makeHarness, type Harness } from "./helpers.js";
import { startLocalHttp, type LocalHttp } from "./local-http.js";

const PAYLOAD = randomBytes(1024 * 1024);
const CHILD = fileURLToPath(new URL("./fixtures/download-child.ts", import.meta.url));

let server: LocalHttp;
let h: DownloadHarness;

interface DownloadHarness extends Harness {
  downloads: Downloads;
}

/** A workspace with the download tools bound to a Downloads registry of that workspace. */
async function downloadHarness(network: AddressPolicy): Promise<DownloadHarness> {
  const base = await makeHarness({ tools: [] });
  const downloads = new Downloads(base.workspace, "test.foreground");
  const runtime = new ToolRuntime({ workspace: base.workspace, sessionId: "test.foreground", coordinate: async () => null, tools: downloadTools(downloads), network });
  let n = 0;
  return {
    ...base,
    downloads,
    runtime,
    call: (name, args, signal = new AbortController().signal) =>
      runtime.run({ id: `dl_call_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal }),
    async cleanup() {
      await downloads.stopAll();
      await runtime.dispose();
      await base.cleanup();
    },
  };
}

const TRUST_TEST_SERVER: AddressPolicy = { allowPrivate: false, trusted: ["127.0.0.1"] };

/** Sends 64 KiB of a declared 10 MiB, then nothing until the client goes away. */
function trickle(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(10 * 1024 * 1024) });
  res.write(Buffer.alloc(64 * 1024, 1));
}

beforeAll(async () => {
  server = await startLocalHttp({
    "/file.bin": (_req, res) => res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(PAYLOAD.length) }).end(PAYLOAD),
    "/moved": (_req, res) => res.writeHead(301, { location: "/file.bin" }).end(),
    "/slow.bin": (_req, res) => trickle(res),
  });
  h = await downloadHarness(TRUST_TEST_SERVER);
});

afterAll(async () => {
  await h.cleanup();
  await server.close();
});

const parse = (text: string) => JSON.parse(text) as Record<string, unknown> & { download?: Record<string, unknown> };
const partFiles = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith(".part"));

describe("file_download_*", () => {
  it("downloads into the workspace, following redirects, and renames only when complete", async () => {
    const h3 = await downloadHarness(TRUST_TEST_SERVER);
    try {
      const r = parse((await h3.call("file_download_start", { url: server.url("/moved"), path: "data/file.bin", wait_timeout_seconds: 10 })).content);
      expect(r).toMatchObject({ completed: true, bytes_downloaded: PAYLOAD.length, total_bytes: PAYLOAD.length, http_status: 200, final_url: server.url("/file.bin") });
      expect(readFileSync(join(h3.workspace, "data/file.bin")).equals(PAYLOAD)).toBe(true);
      expect(partFiles(h3.workspace)).toEqual([]);
      const again = await h3.call("file_download_start", { url: server.url("/file.bin"), path: "data/file.bin" });
      expect(again.isError).toBe(true);
      expect(again.content).toContain("data/file.bin already exists; pass overwrite=true");
      const escape = await h3.call("file_download_start", { url: server.url("/file.bin"), path: "../x.bin" });
      expect(escape.details?.kind).toBe("path_escape");
    } finally {
      await h3.cleanup();
    }
  });

  it("reports HTTP errors, refused addresses and unknown ids", async () => {
    const hx = await downloadHarness({ allowPrivate: false });
    try {
      const notFound = parse((await hx.call("file_download_start", { url: server.url("/nope"), path: "a.bin", wait_timeout_seconds: 5 })).content);
      // Strict policy: even the test server's loopback address is refused.
      expect(notFound).toMatchObject({ failed: true });
      expect(String(notFound.error)).toContain("127.0.0.1 is a loopback address");
      const unknown = await hx.call("file_download_wait", { download_id: "dl_nope" });
      expect(unknown.content).toContain("unknown download_id dl_nope");
      const badMode = await hx.call("file_download_wait", { download_id: "x", on_timeout: "later" });
      expect(badMode.content).toContain("on_timeout must be continue or kill");
    } finally {
      await hx.cleanup();
    }
    const statusDl = parse((await h.call("file_download_start", { url: server.url("/nope"), path: "b.bin", wait_timeout_seconds: 5 })).content);
    expect(statusDl).toMatchObject({ failed: true, http_status: 404 });
    expect(String(statusDl.error)).toContain("download HTTP status 404");
  });

  it("times out a wait (download keeps running), kills on request, and cancels", async () => {
    const started = parse((await h.call("file_download_start", { url: server.url("/slow.bin"), path: "slow1.bin", return_immediate: true })).content);
    expect(started).toMatchObject({ running: true });
    const id = String(started.download_id);
    expect(h.downloads.running(), "a running download keeps its worker from an idle shutdown").toBe(1);
    const waited = parse((await h.call("file_download_wait", { download_id: id, wait_timeout_seconds: 0.3 })).content);
    expect(waited).toMatchObject({ timeout: true, download: { running: true, total_bytes: 10 * 1024 * 1024 } });
    expect(Number(waited.download?.bytes_downloaded)).toBeGreaterThan(0);
    const cancelled = parse((await h.call("file_download_cancel", { download_id: id })).content);
    expect(cancelled).toMatchObject({ cancelled: true });
    expect(cancelled.running).toBeUndefined();
    expect(h.downloads.running()).toBe(0);
    expect(existsSync(join(h.workspace, "slow1.bin"))).toBe(false);
    expect(partFiles(h.workspace)).toEqual([]);

    const killed = parse((await h.call("file_download_start", { url: server.url("/slow.bin"), path: "slow2.bin", wait_timeout_seconds: 0.3, on_timeout: "KILL" })).content);
    expect(killed).toMatchObject({ cancelled: true });
  });
});

describe("downloads across a worker restart", () => {
  async function runChild(workspace: string, url: string, env: Record<string, string> = {}, killAfterStart = false): Promise<string> {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, workspace, url, join(workspace, "out.bin")], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (killAfterStart && out.includes("started")) setTimeout(() => child.kill("SIGKILL"), 300);
      });
      child.on("exit", () => resolve());
    });
    return out;
  }

  it("a download cut off by kill -9 reports interrupted and leaves no partial file", async () => {
    const hx = await makeHarness();
    try {
      const out = await runChild(hx.workspace, server.url("/slow.bin"), {}, true);
      const id = /started (\S+)/.exec(out)?.[1];
      expect(id).toBeTruthy();
      const next = new Downloads(hx.workspace, "test.foreground");
      await next.load(new WorkspacePaths(hx.workspace));
      const status = next.snapshot(id!);
      expect(status).toMatchObject({ running: false, interrupted: true });
      expect(status.error).toContain("interrupted");
      expect(partFiles(hx.workspace)).toEqual([]);
    } finally {
      await hx.cleanup();
    }
  });

  it("crash points: download_start leaves an interrupted record, download_end a completed one", async () => {
    const hs = await makeHarness();
    const he = await makeHarness();
    try {
      const outStart = await runChild(hs.workspace, server.url("/file.bin"), { STARLING_CRASH_AT: "download_start" });
      expect(outStart).toBe(""); // died before it could print
      const afterStart = new Downloads(hs.workspace, "test.foreground");
      await afterStart.load(new WorkspacePaths(hs.workspace));
      const [id] = readdirSync(join(hs.workspace, ".starling/downloads/test.foreground")).map((n) => n.replace(/\.json$/, ""));
      expect(afterStart.snapshot(id!)).toMatchObject({ interrupted: true, running: false });
      expect(existsSync(join(hs.workspace, "out.bin"))).toBe(false);

      const outEnd = await runChild(he.workspace, server.url("/file.bin"), { STARLING_CRASH_AT: "download_end" });
      const endId = /started (\S+)/.exec(outEnd)?.[1];
      expect(outEnd).not.toContain("ended");
      const afterEnd = new Downloads(he.workspace, "test.foreground");
      await afterEnd.load(new WorkspacePaths(he.workspace));
      expect(afterEnd.snapshot(endId!)).toMatchObject({ completed: true, bytes_downloaded: PAYLOAD.length });
      expect(readFileSync(join(he.workspace, "out.bin")).equals(PAYLOAD)).toBe(true);
    } finally {
      await hs.cleanup();
      await he.cleanup();
    }
  });
});
