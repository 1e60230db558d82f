import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModelConfig } from "@starling/protocol";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TINY_PNG } from "../../../../test/fakes/image-server.js";
import { normalizeMessages } from "../../src/media/normalize.js";
import { fileData } from "../../src/providers/file-parts.js";
import { downloadTools } from "../../src/tools/downloads/download-tools.js";
import { Downloads } from "../../src/tools/downloads/downloads.js";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { imageLoadTool } from "../../src/tools/media/media-load.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import { WorkspacePaths } from "../../src/tools/workspace-paths.js";
import { type Harness, makeHarness } from "./helpers.js";
import { startLocalHttp, type LocalHttp } from "./local-http.js";
import { killAndWait } from "../../../../test/fakes/kill-and-wait.js";

// The file tools run in the worker, outside any sandbox; a tool process may change the workspace while
// a call runs. Here a real perl loop swaps the folder `d` between a real folder and a symlink to a folder
// outside (rename(2) swaps are atomic, so `d` always exists) while the tools work on paths through `d`.
// Every test counts the calls that reached outside ("escapes"); each must stay at 0.

// 1 s of racing makes hundreds of reads, listings or deletions on a quiet machine: code that follows the swapped
// link went through it several times in that (seen by removing the O_NOFOLLOW and descriptor checks).
const RACE_MS = 1000;
// A write through a link swapped in between the check and the open is rarer (the path is checked, then the folder
// opened): with those checks removed, 2.5 s of writes or downloads on a loaded machine created 1–5 entries outside,
// 1 s of them none. Those races keep 2.5 s.
const WRITE_RACE_MS = 2500;
const MIN_CALLS = 30;
/** Longest a race goes on to reach MIN_CALLS on a loaded machine. */
const RACE_MAX_MS = 15_000;
const SWAP = `chdir $ARGV[0]; rmdir "d"; rename("real","d"); while (1) { rename("d","real"); rename("evil","d"); rename("d","evil"); rename("real","d"); }`;

function startSwapper(workspace: string): ChildProcess {
  return spawn("perl", ["-e", SWAP, workspace], { stdio: "ignore" });
}

/** Runs `attempt` repeatedly for `ms` with the swapper going; returns attempts and escapes. */
async function race(h: Harness, attempt: (i: number) => Promise<number>, max = Infinity, ms = RACE_MS): Promise<{ calls: number; escapes: number }> {
  const swapper = startSwapper(h.workspace);
  let calls = 0;
  let escapes = 0;
  try {
    // `ms` of racing, but at least MIN_CALLS attempts (a loaded machine makes fewer in the time; the
    // assertions need enough of them), up to RACE_MAX_MS in all.
    const start = Date.now();
    const racing = () => Date.now() - start < ms || (calls < MIN_CALLS && Date.now() - start < RACE_MAX_MS);
    while (racing() && calls < max) escapes += await attempt(calls++);
  } finally {
    await killAndWait(swapper);
  }
  return { calls, escapes };
}

/** ws/real (inside content), ws/evil -> outside, ws/d (the name being swapped). */
async function arena(h: Harness): Promise<void> {
  await mkdir(join(h.workspace, "real", "sub"), { recursive: true });
  await writeFile(join(h.workspace, "real", "f.txt"), "harmless\n");
  await writeFile(join(h.outside, "outside-only.txt"), "top secret\n");
  await mkdir(join(h.outside, "outside-dir"));
  await symlink(h.outside, join(h.workspace, "evil"));
  await mkdir(join(h.workspace, "d"));
}

const outsideEntries = (h: Harness): string[] => readdirSync(h.outside, { recursive: true }).map(String).sort();

describe("symlink-swap races", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    await arena(h);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("ls, glob and grep never list or read a folder swapped for a link out", { timeout: 30_000 }, async () => {
    const result = await race(h, async () => {
      const outputs = await Promise.all([
        h.call("ls", { path: "d" }),
        h.call("ls", {}),
        h.call("glob", { pattern: "*", path: "d" }),
        h.call("glob", { pattern: "**/*" }),
        h.call("grep", { pattern: "secret" }),
      ]);
      return outputs.filter((r) => r.content.includes("outside-only") || r.content.includes("outside-dir")).length;
    });
    console.log(`listings: ${result.calls} rounds, ${result.escapes} escapes`);
    expect(result.calls).toBeGreaterThan(20);
    expect(result.escapes).toBe(0);
  });

  it("file_write and apply_patch create no folder or file outside through a swapped parent", { timeout: 30_000 }, async () => {
    const before = outsideEntries(h);
    const result = await race(h, async (i) => {
      await h.call("file_write", { file_path: `d/w${i}/deep/x.txt`, content: "x" });
      await h.call("file_write", { file_path: `d/n${i}.txt`, content: "x" });
      await h.call("apply_patch", { patch: `--- /dev/null\n+++ b/d/p${i}/y.txt\n@@ -0,0 +1 @@\n+y\n` });
      return 0;
    }, Infinity, WRITE_RACE_MS);
    const created = outsideEntries(h).filter((e) => !before.includes(e));
    console.log(`write parents: ${result.calls} rounds, ${created.length} entries created outside`);
    expect(result.calls).toBeGreaterThan(20);
    expect(created).toEqual([]);
  });

  it("apply_patch deletes and chmods nothing outside through a swapped parent", { timeout: 30_000 }, async () => {
    // The race stops when they run out: a quiet machine deletes 1000 in less than RACE_MS (loaded: a few hundred).
    const victims = 1000;
    // Written 100 at a time rather than one by one: 2000 awaited writes in a row took seconds.
    for (let start = 0; start < victims; start += 100) {
      const batch = Array.from({ length: Math.min(100, victims - start) }, (_, k) => start + k);
      await Promise.all(batch.flatMap((i) => [
        writeFile(join(h.workspace, "real", `v${i}.txt`), "victim\n", { mode: 0o644 }),
        writeFile(join(h.outside, `v${i}.txt`), "victim\n", { mode: 0o644 }),
      ]));
    }
    const result = await race(h, async (i) => {
      const del = `--- a/d/v${i}.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-victim\n`;
      await h.call("apply_patch", { patch: del });
      return 0;
    }, victims);
    let deleted = 0;
    for (let i = 0; i < victims; i += 1) {
      try {
        statSync(join(h.outside, `v${i}.txt`));
      } catch {
        deleted += 1;
      }
    }
    // A mode change rides on a modify patch: chmod by path followed the swapped folder.
    await writeFile(join(h.outside, "f.txt"), "harmless\n", { mode: 0o644 });
    const modes = await race(h, async () => {
      await h.call("apply_patch", { patch: "diff --git a/d/f.txt b/d/f.txt\nold mode 100644\nnew mode 100755\n" });
      await h.call("apply_patch", { patch: "diff --git a/d/f.txt b/d/f.txt\nold mode 100755\nnew mode 100644\n" });
      return (statSync(join(h.outside, "f.txt")).mode & 0o777) === 0o644 ? 0 : 1;
    });
    console.log(`apply_patch: ${result.calls} deletions, ${deleted} outside files deleted; ${modes.calls} mode rounds, ${modes.escapes} outside chmods`);
    expect(result.calls).toBeGreaterThan(20);
    expect(deleted).toBe(0);
    expect(modes.escapes).toBe(0);
    expect(statSync(join(h.outside, "f.txt")).mode & 0o777).toBe(0o644);
  });

  it("image_load never sniffs or attaches a file through a swapped folder, and its later reads stay inside", { timeout: 30_000 }, async () => {
    await writeFile(join(h.workspace, "real", "img.png"), "not an image\n");
    await writeFile(join(h.outside, "img.png"), TINY_PNG);
    // For the later reads: written now, as the swapper leaves the real folder under either name.
    const inside = Buffer.concat([TINY_PNG, Buffer.from("inside")]);
    await writeFile(join(h.workspace, "real", "pic.png"), inside);
    await writeFile(join(h.outside, "pic.png"), TINY_PNG);
    const runtime = new ToolRuntime({ workspace: h.workspace, sessionId: "race.foreground", coordinate: async () => null, tools: [...builtinTools(), imageLoadTool] });
    let n = 0;
    const loads = await race(h, async () => {
      const r = await runtime.run({ id: `img_${++n}`, name: "image_load", arguments: JSON.stringify({ path: "d/img.png" }) }, { turnId: 1, signal: new AbortController().signal });
      return r.content.includes('"loaded"') ? 1 : 0;
    });
    await runtime.dispose();
    // A file loaded (inside) is read again by path before each model call (normalisation).
    const config: ModelConfig = { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:1/v1", capabilities: ["chat", "image_in"], retry_mode: "once" };
    const paths = new WorkspacePaths(h.workspace);
    const outsideUrl = `data:image/png;base64,${TINY_PNG.toString("base64")}`;
    const reads = await race(h, async (i) => {
      // A new name each time, so no result comes from the normaliser's cache.
      const file = { type: "file" as const, uri: pathToFileURL(join(h.workspace, "d", "pic.png")).href, name: `pic${i}.png`, mediaType: "image/png" };
      const normalized = await normalizeMessages(config, [{ index: 0, role: "user", time: new Date().toISOString(), content: [file] }], (abs: string) => paths.open(abs, "r")).catch(() => []);
      const message = normalized[0];
      const item = message?.content[0];
      return item?.type === "file" && item.uri === outsideUrl ? 1 : 0;
    });
    console.log(`media: ${loads.calls} image_load calls, ${loads.escapes} escapes; ${reads.calls} normalisations, ${reads.escapes} escapes`);
    expect(loads.calls).toBeGreaterThan(20);
    expect(loads.escapes).toBe(0);
    expect(reads.escapes).toBe(0);
  });

  it("a file a provider sends as it is: a file_in file and a file_reference image reach the request with the inside bytes, never through a swapped folder", { timeout: 30_000 }, async () => {
    await writeFile(join(h.workspace, "real", "notes.bin"), "harmless\n");
    await writeFile(join(h.outside, "notes.bin"), "top secret\n");
    await writeFile(join(h.workspace, "real", "pic.png"), Buffer.concat([TINY_PNG, Buffer.from("inside")]));
    await writeFile(join(h.outside, "pic.png"), Buffer.concat([TINY_PNG, Buffer.from("top secret")]));
    const paths = new WorkspacePaths(h.workspace);
    const configs: ModelConfig[] = [
      { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:1/v1", capabilities: ["chat", "file_in"], retry_mode: "once" },
      {
        provider_type: "open_router_completion",
        model_name: "m",
        url: "http://127.0.0.1:1/v1",
        capabilities: ["chat", "image_in"],
        retry_mode: "once",
        multimodal_input: { image: { transport: "file_reference" } },
      },
    ];
    let sent = 0;
    // WRITE_RACE_MS: at 1 s its "more than 20 files inlined" check failed once under load (the swaps refuse many).
    const result = await race(h, async (i) => {
      let escapes = 0;
      for (const [c, config] of configs.entries()) {
        const name = c === 0 ? "notes.bin" : "pic.png";
        // A new name each time, so no result comes from the normaliser's cache.
        const file = { type: "file" as const, uri: pathToFileURL(join(h.workspace, "d", name)).href, name: `${i}-${name}`, ...(c === 1 ? { mediaType: "image/png" } : {}) };
        const normalized = await normalizeMessages(config, [{ index: 0, role: "user", time: new Date().toISOString(), content: [file] }], (abs: string) => paths.open(abs, "r")).catch(() => []);
        const item = normalized[0]?.content[0];
        if (item?.type !== "file") continue;
        // What the provider puts into the request for this item.
        const data = await fileData(item, item.mediaType ?? "application/octet-stream");
        if (data.kind !== "inline") continue;
        sent++;
        if (Buffer.from(data.base64, "base64").includes("top secret")) escapes++;
      }
      return escapes;
    }, Infinity, WRITE_RACE_MS);
    console.log(`provider files: ${result.calls} rounds, ${sent} files inlined, ${result.escapes} outside files sent`);
    expect(sent).toBeGreaterThan(20);
    expect(result.escapes).toBe(0);
  });
});

describe("download race", () => {
  let server: LocalHttp;
  beforeAll(async () => {
    server = await startLocalHttp({ "/file.bin": (_req, res) => res.writeHead(200, { "content-length": "7" }).end("payload") });
  });
  afterAll(async () => {
    await server.close();
  });

  it("a download never writes, renames or removes anything outside through a swapped folder", { timeout: 30_000 }, async () => {
    const h = await makeHarness({ tools: [] });
    const downloads = new Downloads(h.workspace, "race.foreground");
    const runtime = new ToolRuntime({ workspace: h.workspace, sessionId: "race.foreground", coordinate: async () => null, tools: downloadTools(downloads), network: { allowPrivate: false, trusted: ["127.0.0.1"] } });
    try {
      await arena(h);
      const before = outsideEntries(h);
      let n = 0;
      const result = await race(h, async (i) => {
        await runtime.run({ id: `dl_${++n}`, name: "file_download_start", arguments: JSON.stringify({ url: server.url("/file.bin"), path: `d/dl${i}.bin`, wait_timeout_seconds: 10 }) }, { turnId: 1, signal: new AbortController().signal });
        await runtime.run({ id: `dl_${++n}`, name: "file_download_start", arguments: JSON.stringify({ url: server.url("/file.bin"), path: `d/new${i}/dl.bin`, wait_timeout_seconds: 10 }) }, { turnId: 1, signal: new AbortController().signal });
        return 0;
      }, Infinity, WRITE_RACE_MS);
      const created = outsideEntries(h).filter((e) => !before.includes(e));
      console.log(`downloads: ${result.calls} rounds, ${created.length} entries created outside`);
      expect(result.calls).toBeGreaterThan(20);
      expect(created).toEqual([]);
      expect(await readFile(join(h.outside, "outside-only.txt"), "utf8")).toBe("top secret\n");
    } finally {
      await downloads.stopAll();
      await runtime.dispose();
      await h.cleanup();
    }
  });
});

describe("download restart race", () => {
  // A worker that stopped mid-download leaves a record still saying running; the next worker removes
  // that download's partial file when a download tool is first called. Here the folder the partial file
  // was in is being swapped for a link out, and a file of the partial file's name waits outside.
  it("removing the partial file of a download cut off by a restart removes nothing outside through a swapped folder", { timeout: 60_000 }, async () => {
    const h = await makeHarness({ tools: [] });
    try {
      await arena(h);
      let inside = 0;
      const result = await race(h, async (i) => {
        const session = `race.restart${i}`;
        const id = `dl_race_${i}`;
        const part = `.f${i}.bin.${id}.part`;
        await writeFile(join(h.outside, part), "outside bytes\n");
        const records = join(h.workspace, ".starling", "downloads", session);
        await mkdir(records, { recursive: true });
        const record = { download_id: id, url: "http://127.0.0.1:9/f.bin", path: `d/f${i}.bin`, running: true, bytes_downloaded: 3, started_at: new Date().toISOString(), temp_path: join(h.workspace, "d", part) };
        await writeFile(join(records, `${id}.json`), JSON.stringify(record));
        const downloads = new Downloads(h.workspace, session);
        const runtime = new ToolRuntime({ workspace: h.workspace, sessionId: session, coordinate: async () => null, tools: downloadTools(downloads), network: { allowPrivate: false } });
        try {
          const answer = await runtime.run({ id: `p_${i}`, name: "file_download_progress", arguments: JSON.stringify({ download_id: id }) }, { turnId: 1, signal: new AbortController().signal });
          if (answer.content.includes('"interrupted": true')) inside += 1;
        } finally {
          await runtime.dispose();
        }
        return statSync(join(h.outside, part), { throwIfNoEntry: false }) ? 0 : 1;
      });
      console.log(`restart cleanups: ${result.calls} rounds, ${inside} reported interrupted, ${result.escapes} outside files removed`);
      expect(result.calls).toBeGreaterThan(20);
      expect(inside).toBe(result.calls);
      expect(result.escapes).toBe(0);
      expect(await readFile(join(h.outside, "outside-only.txt"), "utf8")).toBe("top secret\n");
    } finally {
      await h.cleanup();
    }
  });
});
