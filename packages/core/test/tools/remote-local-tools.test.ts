import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { downloadTools } from "../../src/tools/downloads/download-tools.js";
import { Downloads } from "../../src/tools/downloads/downloads.js";
import { imageLoadTool } from "../../src/tools/media/media-load.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import type { ToolRunResult } from "../../src/tools/types.js";
import { type LoopbackSshd, startLoopbackSshd } from "../../../../test/fakes/loopback-sshd.js";
import { makeHarness, type Harness } from "./helpers.js";
import { startLocalHttp, type LocalHttp } from "./local-http.js";

// In a fixed-remote conversation the file tools and shell work on the SSH host, while the download and media tools
// stay in the local workspace: their results must say so, or the model looks for the file where it is not.
const started = await startLoopbackSshd();
const sshd: LoopbackSshd | null = "skip" in started ? null : started;
if ("skip" in started) console.warn(`remote local-tools tests skipped: ${started.skip}`);

describe.skipIf(!sshd)("tools that stay local in a fixed-remote conversation (loopback sshd)", () => {
  const previousConfig = process.env.STARLING_SSH_CONFIG;
  let base: Harness;
  let runtime: ToolRuntime;
  let downloads: Downloads;
  let server: LocalHttp;
  let root: string;
  let n = 0;
  const call = (name: string, args: Record<string, unknown>): Promise<ToolRunResult> =>
    runtime.run({ id: `lt_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal: new AbortController().signal });

  beforeAll(async () => {
    if (!sshd) return;
    process.env.STARLING_SSH_CONFIG = sshd.configFile;
    root = join(sshd.dir, "remote");
    server = await startLocalHttp({ "/data.csv": (_req, res) => res.writeHead(200, { "content-type": "text/csv" }).end("a,b\n1,2\n") });
    base = await makeHarness({ tools: [] });
    downloads = new Downloads(base.workspace, "test.foreground");
    runtime = new ToolRuntime({
      workspace: base.workspace,
      sessionId: "test.foreground",
      coordinate: async () => null,
      tools: [...builtinTools(), ...downloadTools(downloads), imageLoadTool],
      network: { allowPrivate: false, trusted: ["127.0.0.1"] },
      remote: { mode: "fixed", host: "testbox", path: root },
    });
  });
  afterAll(async () => {
    await downloads?.stopAll();
    await runtime?.dispose();
    await base?.cleanup();
    await server?.close();
    await sshd?.stop();
    if (previousConfig === undefined) delete process.env.STARLING_SSH_CONFIG;
    else process.env.STARLING_SSH_CONFIG = previousConfig;
  });

  it("file_download_start saves locally and says so: not on the host, where file_read cannot see it, and how to get it there", async () => {
    const url = server.url("/data.csv");
    const result = await call("file_download_start", { url, path: "in/data.csv", wait_timeout_seconds: 10 });
    const status = JSON.parse(result.content) as Record<string, unknown>;
    expect(status).toMatchObject({ completed: true, path: "in/data.csv" });
    expect(readFileSync(join(base.workspace, "in/data.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect(existsSync(join(root, "in/data.csv"))).toBe(false);
    // What the model would try next, and why it needs telling.
    expect(await call("file_read", { file_path: "in/data.csv" })).toMatchObject({ isError: true, details: { kind: "not_found" } });
    expect(status.location).toBe(
      `the local workspace of the Starling machine, not testbox:${root}: file_read, shell and the other file tools work on testbox and cannot see it ` +
        `(it can be sent with <attachment> or opened with image_load, pdf_load or audio_load). To have it on testbox, download it there with shell, e.g. curl -fL -o 'in/data.csv' '${url}'.`,
    );
    const progress = JSON.parse((await call("file_download_progress", { download_id: status.download_id })).content) as Record<string, unknown>;
    expect(progress.location).toBe(status.location);
  });

  it("image_load of a file that is only on the host says it reads the local workspace", async () => {
    writeFileSync(join(root, "shot.png"), Buffer.from("89504e470d0a1a0a", "hex"));
    const result = await call("image_load", { path: "shot.png" });
    expect(result).toMatchObject({ isError: true, details: { kind: "not_found" } });
    expect(result.content).toBe(
      `image path is not a file: shot.png. This tool reads the local workspace of the Starling machine, not testbox:${root} where file_read and shell work; ` +
        "a file on testbox cannot be loaded from there.",
    );
  });
});
