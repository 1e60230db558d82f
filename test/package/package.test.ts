// `pnpm package` → a tarball that `npm i -g` turns into working `starling` and `starling-worker`
// commands (bundle + classic-level from the registry), outside the workspace.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker } from "@starling/protocol";
import { freePort } from "../e2e/web-fixture.js";
import { initParams } from "../conformance/harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const version = readFileSync(join(root, "VERSION"), "utf8").split("\n")[0]!.trim();
const prefix = mkdtempSync(join(tmpdir(), "starling-pkg-"));
const bin = (name: string) => join(prefix, "bin", name);
/**
 * The environment of a user's shell: without NODE_PATH, which pnpm's bin shims (`npx vitest`, `pnpm test`)
 * point at the workspace's hoisted node_modules, where the installed package would find modules it does not ship.
 */
const { NODE_PATH: _workspaceModules, ...userEnv } = process.env;

describe("npm package", () => {
  beforeAll(() => {
    const tarball = execFileSync(process.execPath, [join(root, "scripts/package.mjs")], { cwd: root, encoding: "utf8" }).trim();
    expect(tarball).toBe(join(root, "dist", `starling-${version}.tgz`));
    // --prefer-offline: the npm cache usually has classic-level and pino; the registry fills the gaps.
    execFileSync("npm", ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: prefix,
      stdio: ["ignore", "ignore", "pipe"],
    });
  }, 120_000);
  afterAll(() => rmSync(prefix, { recursive: true, force: true }));

  it("installs a starling command that prints the version", () => {
    const run = spawnSync(bin("starling"), ["--version"], { encoding: "utf8", cwd: prefix, env: userEnv });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe(`starling ${version}`);
  });

  it("the packaged starling reads a JSONC config and refuses a bad one with exit 78", () => {
    const path = join(prefix, "bad.jsonc");
    writeFileSync(path, '{ // a comment\n  "version": "0.4", "modles": {} }');
    const run = spawnSync(bin("starling"), ["doctor", "--config", path, "--workdir", join(prefix, "wd")], { encoding: "utf8", cwd: prefix, env: userEnv });
    expect(run.status, run.stderr).toBe(78);
    expect(run.stdout).toMatch(/modles: unknown key/);
  });

  it("the packaged host serves the web channel's page and its two libraries, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const config = join(prefix, "web.json");
    writeFileSync(
      config,
      JSON.stringify({
        version: "0.4",
        models: { main: { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:9/v1/chat/completions", capabilities: ["chat"] } },
        channels: [{ kind: "web", id: "web", bind_addr: `127.0.0.1:${port}`, token_env: "PKG_WEB_TOKEN" }],
      }),
    );
    const host = spawn(bin("starling"), ["--config", config, "--workdir", join(prefix, "web-wd")], {
      cwd: prefix,
      env: { ...userEnv, PKG_WEB_TOKEN: "pkg-web-token-0123456789" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    host.stdout.on("data", (d: Buffer) => (output += d.toString()));
    host.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => host.on("exit", (code) => resolve(code)));
    try {
      const origin = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      while (!(await fetch(`${origin}/`).then((r) => r.ok, () => false))) {
        if (host.exitCode !== null) throw new Error(`the packaged host exited ${host.exitCode}: ${output}`);
        if (Date.now() > deadline) throw new Error(`the packaged host's web channel did not answer: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [asset, text] of [["app.js", "/assets/marked.js"], ["marked.js", "export"], ["purify.js", "export"], ["app.css", ""]] as const) {
        const res = await fetch(`${origin}/assets/${asset}`);
        expect(res.status, asset).toBe(200);
        expect(await res.text(), asset).toContain(text);
      }
    } finally {
      host.kill("SIGTERM");
    }
    expect(await exited, output).toBe(0);
  }, 60_000);

  it("has only classic-level as a required native dependency", () => {
    const manifest = JSON.parse(readFileSync(join(prefix, "lib/node_modules/starling/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    expect(Object.keys(manifest.optionalDependencies ?? {}).filter((n) => n !== "sharp")).toEqual([]);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["classic-level", "jsonc-parser", "pino", "pino-pretty"]);
    expect(Object.keys(manifest.dependencies).join()).not.toMatch(/@starling/);
  });

  it("installs a starling-worker that answers initialize over stdio and opens its LevelDB", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "starling-pkg-ws-"));
    const stderr: string[] = [];
    const client = spawnWorker({
      command: [bin("starling-worker")],
      cwd: workspace,
      env: { ...userEnv, HOME: workspace, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" },
      stderr: (line) => stderr.push(line),
    });
    try {
      const init = await client.initialize(initParams({ workspace, modelUrl: "http://127.0.0.1:9/v1/chat/completions", sessionId: "pkg.foreground" }));
      expect(init.protocolVersion).toBeTruthy();
      expect(init.historyLength).toBe(0);
      // The session LevelDB (classic-level from the registry) was created inside the workspace.
      expect(readdirSync(join(workspace, ".starling", "sessions"))).toHaveLength(1);
      expect(stderr.join("\n")).not.toMatch(/error/i);
    } finally {
      client.kill("SIGKILL");
      await client.exited;
      rmSync(workspace, { recursive: true, force: true });
    }
  });

});
