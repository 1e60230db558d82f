// `starling` runs the one-file build of the CLI (scripts/bundle-host.mjs) only while it matches the compiled
// files it was made from: a stale bundle (sources rebuilt by `tsc -b` alone) must never run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentHostBundle } from "../../src/host-bundle.js";
import { HOST_NODE_FLAGS } from "../../src/worker-path.js";

let dir: string;
let bundle: string;
let input: string;
let manifest: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "starling-host-bundle-"));
  bundle = join(dir, "run-cli.bundle.cjs");
  input = join(dir, "host.js");
  manifest = join(dir, "run-cli.bundle.json");
  writeFileSync(bundle, "// bundle\n");
  writeFileSync(input, "export const x = 1;\n");
  writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("currentHostBundle", () => {
  it("names the bundle while its inputs are unchanged", () => {
    expect(currentHostBundle(manifest)).toEqual({ bundle, codeCache: null });
  });

  it("names the code cache made for this process's flags, and none for other flags", () => {
    const codeCaches = [
      { execArgv: [], file: join(dir, "plain.cache") },
      { execArgv: ["--single-threaded-gc"], file: join(dir, "gc.cache") },
    ];
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs }, codeCaches }));
    expect(currentHostBundle(manifest, [])?.codeCache).toBe(join(dir, "plain.cache"));
    expect(currentHostBundle(manifest, ["--single-threaded-gc"])?.codeCache).toBe(join(dir, "gc.cache"));
    expect(currentHostBundle(manifest, ["--max-old-space-size=100"])).toEqual({ bundle, codeCache: null });
  });

  it("falls back (null) once an input was rebuilt after the bundle, is gone, or the bundle or manifest is missing", () => {
    const later = new Date(statSync(input).mtimeMs + 5_000);
    utimesSync(input, later, later);
    expect(currentHostBundle(manifest)).toBeNull();
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
    expect(currentHostBundle(manifest)?.bundle).toBe(bundle);
    rmSync(bundle);
    expect(currentHostBundle(manifest)).toBeNull();
    writeFileSync(bundle, "// bundle\n");
    rmSync(input);
    expect(currentHostBundle(manifest)).toBeNull();
    expect(currentHostBundle(join(dir, "missing.json"))).toBeNull();
    writeFileSync(manifest, "{ not json");
    expect(currentHostBundle(manifest)).toBeNull();
  });
});

describe("the workspace build", () => {
  const dist = fileURLToPath(new URL("../../dist/", import.meta.url));
  const version = readFileSync(fileURLToPath(new URL("../../../../VERSION", import.meta.url)), "utf8").split("\n")[0]!.trim();

  it("leaves a current bundle that `starling` runs (`pnpm build` before the tests)", () => {
    expect(currentHostBundle(join(dist, "run-cli.bundle.json"))?.bundle).toBe(join(dist, "run-cli.bundle.cjs"));
    const run = spawnSync(process.execPath, [join(dist, "main.js"), "--version"], { encoding: "utf8", timeout: 30_000 });
    expect(run.stdout.trim()).toContain(version);
    expect(run.status).toBe(0);
  });

  /** What loading the bundle under `flags` found: a cache for them, whether V8 refused it, and the CLI's entry. */
  function probe(flags: string[]): unknown {
    const code = `const { currentHostBundle, loadHostBundle } = await import(${JSON.stringify(pathToFileURL(join(dist, "host-bundle.js")).href)});
const found = currentHostBundle(${JSON.stringify(join(dist, "run-cli.bundle.json"))});
const { exports, script } = loadHostBundle(found);
console.log(JSON.stringify({ cache: found.codeCache !== null, rejected: script.cachedDataRejected ?? null, runCli: typeof exports.runCli }));`;
    // A file, not `-e`: the host finds its cache by process.execArgv, which would then hold `-e` and the code.
    const file = join(dir, "probe.mjs");
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, [...flags, file], { encoding: "utf8", timeout: 30_000 });
    expect(run.stderr).toBe("");
    return JSON.parse(run.stdout);
  }

  // One V8 takes must be the bundle's own (checked below); without one, the bundle still runs, compiled from source.
  it.each([
    ["no flags (tests, `node main.js`)", [] as string[]],
    ["HOST_NODE_FLAGS (the service, `pnpm start`, the #! line)", [...HOST_NODE_FLAGS]],
  ])("has a code cache V8 accepts under %s", (_name, flags) => {
    expect(probe(flags)).toEqual({ cache: true, rejected: false, runCli: "function" });
  });

  it("runs the bundle compiled from source under other V8 flags (no cache made for them)", () => {
    expect(probe(["--max-old-space-size=300"])).toEqual({ cache: false, rejected: null, runCli: "function" });
    const run = spawnSync(process.execPath, ["--max-old-space-size=300", join(dist, "main.js"), "--version"], { encoding: "utf8", timeout: 30_000 });
    expect(run.stdout.trim()).toContain(version);
    expect(run.status).toBe(0);
  });

  // V8 checks a code cache against its source by length only (a wrong one can crash the process): the
  // manifest lists the bundle itself, so a bundle replaced by anything but the build is not run with it.
  it("lists the bundle among its own inputs, next to caches made after it", () => {
    const manifest = JSON.parse(readFileSync(join(dist, "run-cli.bundle.json"), "utf8")) as { bundle: string; inputs: Record<string, number>; codeCaches: { file: string }[] };
    expect(manifest.inputs[manifest.bundle]).toBe(statSync(manifest.bundle).mtimeMs);
    expect(manifest.codeCaches).toHaveLength(2);
    for (const { file } of manifest.codeCaches) expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(statSync(manifest.bundle).mtimeMs);
  });
});
