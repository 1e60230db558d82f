// The host starts the esbuild bundle of the worker only while it matches the compiled files it was made
// from; a stale bundle (sources rebuilt by `tsc -b` alone) must never run.
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentBundle } from "../../src/worker-path.js";

let dir: string;
let bundle: string;
let input: string;
let manifest: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "starling-bundle-"));
  bundle = join(dir, "main.bundle.js");
  input = join(dir, "session.js");
  manifest = join(dir, "main.bundle.json");
  writeFileSync(bundle, "// bundle\n");
  writeFileSync(input, "export const x = 1;\n");
  writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("currentBundle", () => {
  it("names the bundle while its inputs are unchanged", () => {
    expect(currentBundle(manifest)).toBe(bundle);
  });

  it("falls back (null) once an input was rebuilt after the bundle", () => {
    const later = new Date(statSync(input).mtimeMs + 5_000);
    utimesSync(input, later, later);
    expect(currentBundle(manifest)).toBeNull();
  });

  it("falls back when an input is gone, the bundle is missing or there is no manifest", () => {
    rmSync(input);
    expect(currentBundle(manifest)).toBeNull();
    writeFileSync(input, "export const x = 1;\n");
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs } }));
    rmSync(bundle);
    expect(currentBundle(manifest)).toBeNull();
    expect(currentBundle(join(dir, "missing.json"))).toBeNull();
  });
});
