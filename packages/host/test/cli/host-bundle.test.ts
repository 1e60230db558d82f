// `starling` runs the one-file build of the CLI (scripts/bundle-host.mjs) only while it matches the compiled
// files it was made from: a stale bundle (sources rebuilt by `tsc -b` alone) must never run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentHostBundle } from "../../src/host-bundle.js";

let dir: string;
let bundle: string;
let input: string;
let manifest: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "starling-host-bundle-"));
  bundle = join(dir, "run-cli.bundle.js");
  input = join(dir, "host.js");
  manifest = join(dir, "run-cli.bundle.json");
  writeFileSync(bundle, "// bundle\n");
  writeFileSync(input, "export const x = 1;\n");
  writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("currentHostBundle", () => {
  it("names the bundle while its inputs are unchanged", () => {
    expect(currentHostBundle(manifest)).toBe(bundle);
  });

  it("falls back (null) once an input was rebuilt after the bundle, is gone, or the bundle or manifest is missing", () => {
    const later = new Date(statSync(input).mtimeMs + 5_000);
    utimesSync(input, later, later);
    expect(currentHostBundle(manifest)).toBeNull();
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
    expect(currentHostBundle(manifest)).toBe(bundle);
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
  it("leaves a current bundle that `starling` runs (`pnpm build` before the tests)", () => {
    expect(currentHostBundle(join(dist, "run-cli.bundle.json"))).toBe(join(dist, "run-cli.bundle.js"));
    const version = readFileSync(fileURLToPath(new URL("../../../../VERSION", import.meta.url)), "utf8").split("\n")[0]!.trim();
    const run = spawnSync(process.execPath, [join(dist, "main.js"), "--version"], { encoding: "utf8", timeout: 30_000 });
    expect(run.stdout.trim()).toContain(version);
    expect(run.status).toBe(0);
  });
});
