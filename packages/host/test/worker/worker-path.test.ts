// The host starts the esbuild bundle of the worker only while it matches the compiled files it was made
// from; a stale bundle (sources rebuilt by `tsc -b` alone) must never run. The start-up snapshot is used
// only on top of a current bundle and only by the Node that built it (Node refuses another build's blob).
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentBundle, currentSnapshot, snapshotStartsUnder } from "../../src/worker-path.js";

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

describe("currentSnapshot", () => {
  const node: { version: string; arch: NodeJS.Architecture } = { version: "v20.20.2", arch: "x64" };
  let blob: string;
  beforeEach(() => {
    blob = join(dir, "worker.blob");
    writeFileSync(blob, "blob");
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs, [blob]: statSync(blob).mtimeMs }, snapshot: { blob, node: node.version, arch: node.arch } }));
  });

  it("names the blob while the bundle is current and this Node built it", () => {
    expect(currentSnapshot(manifest, node)).toBe(blob);
  });

  it("falls back to the bundle for another Node version or arch", () => {
    expect(currentSnapshot(manifest, { ...node, version: "v20.20.3" })).toBeNull();
    expect(currentSnapshot(manifest, { ...node, arch: "arm64" })).toBeNull();
    expect(currentBundle(manifest)).toBe(bundle);
  });

  it("falls back when the blob is missing, was rebuilt, or the bundle is stale", () => {
    const later = new Date(statSync(blob).mtimeMs + 5_000);
    utimesSync(blob, later, later);
    expect(currentSnapshot(manifest, node)).toBeNull();
    rmSync(blob);
    expect(currentSnapshot(manifest, node)).toBeNull();
    writeFileSync(blob, "blob");
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: { [input]: statSync(input).mtimeMs }, snapshot: { blob, node: node.version, arch: node.arch } }));
    utimesSync(input, later, later);
    expect(currentSnapshot(manifest, node)).toBeNull();
  });

  it("is absent from a manifest without a snapshot (its build failed)", () => {
    writeFileSync(manifest, JSON.stringify({ bundle, inputs: {}, snapshot: null }));
    expect(currentSnapshot(manifest, node)).toBeNull();
    expect(currentBundle(manifest)).toBe(bundle);
  });
});

describe("snapshotStartsUnder (the built blob of this workspace)", () => {
  const manifest = fileURLToPath(new URL("../../../worker/dist/main.bundle.json", import.meta.url));
  const built = currentSnapshot(manifest);
  const flags = built ? (JSON.parse(readFileSync(manifest, "utf8")) as { nodeFlags: string[] }).nodeFlags : [];

  it.skipIf(!built)("refuses NODE_OPTIONS whose V8 flags the snapshot was not built with, accepts none (skipped: no current snapshot blob; run pnpm build)", () => {
    expect(snapshotStartsUnder(flags, built!, undefined)).toBe(true);
    expect(snapshotStartsUnder(flags, built!, "")).toBe(true);
    expect(snapshotStartsUnder(flags, built!, "--max-old-space-size=4096")).toBe(false);
    expect(snapshotStartsUnder(flags, built!, "--stack-trace-limit=50")).toBe(false);
  });
});
