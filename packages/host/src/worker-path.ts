import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { fileURLToPath } from "node:url";
import { inputsUnchanged } from "./host-bundle.js";

// Replaced by the version string when `pnpm package` bundles the host (scripts/package.mjs); in the
// workspace build it is undeclared, so `typeof` is "undefined".
declare const STARLING_BUNDLE_VERSION: string | undefined;

/** True inside the npm package made by `pnpm package` (one bundle file per bin in the same folder). */
/**
 * Set in every worker's environment (not passed on to tool processes: not in the allowlist). glibc
 * then serves allocations from 128 kB up with their own mappings, returned at free, instead of growing
 * its heap arenas, which LevelDB's and libuv's threads kept: idle worker private memory −2 MB, after 210
 * turns −8 MB, with no measurable CPU cost (docs/PERFORMANCE.md "Worker memory").
 */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

export function isBundled(): boolean {
  return typeof STARLING_BUNDLE_VERSION === "string";
}

/** The bundle's version, when running from the package. */
export function bundledVersion(): string | undefined {
  return typeof STARLING_BUNDLE_VERSION === "string" ? STARLING_BUNDLE_VERSION : undefined;
}

/**
 * The worker that ships with this host: the package's starling-worker.js; in the workspace
 * packages/worker/dist/main.bundle.js (made by `pnpm build`, scripts/bundle-worker.mjs) while it is
 * current, else packages/worker/dist/main.js.
 */
export function bundledWorkerMain(): string {
  if (isBundled()) return fileURLToPath(new URL("./starling-worker.js", import.meta.url));
  return (workspaceWorker ??= currentBundle(workspaceManifest()) ?? fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url)));
}
let workspaceWorker: string | undefined;

/**
 * Node's arguments that start the shipped worker: the manifest's V8 flags, then `--snapshot-blob <worker.blob>` while the workspace
 * build's start-up snapshot is current, was made by this Node (version and arch) and starts under the
 * workers' NODE_OPTIONS (snapshotStartsUnder), else the file bundledWorkerMain() names.
 */
export function bundledWorkerArgs(nodeOptions: string | undefined = process.env.NODE_OPTIONS): string[] {
  if (isBundled()) return [...PACKAGED_WORKER_FLAGS, bundledWorkerMain()];
  if (!workspaceArgs) {
    let blob = currentSnapshot(workspaceManifest());
    const flags = readCurrent(workspaceManifest())?.nodeFlags ?? [];
    if (blob && !snapshotStartsUnder(flags, blob, nodeOptions)) {
      workerStartNote = `workers start without the start-up snapshot (slower starts): it refuses NODE_OPTIONS="${nodeOptions}" (V8 flags it was not built with)`;
      blob = null;
    }
    workspaceArgs = blob ? [...flags, "--snapshot-blob", blob] : [...flags, bundledWorkerMain()];
  }
  return workspaceArgs;
}
let workspaceArgs: string[] | undefined;
let workerStartNote: string | null = null;

/** Why workers do not start from the snapshot although it is current (for the host's start log), or null. */
export function workerStartWarning(): string | null {
  return workerStartNote;
}

/**
 * Whether `node --snapshot-blob` accepts the blob under `nodeOptions`, which workers inherit (the
 * environment allowlist keeps NODE_OPTIONS; the host passes what workerNodeOptions leaves of it). V8 refuses a snapshot under flags that change its
 * configuration (`--max-old-space-size`, `--stack-trace-limit`, …: "Failed to load the startup snapshot"),
 * so every worker would die at start. Checked once per host, only when NODE_OPTIONS is set: a worker
 * started with an empty stdin exits 0 at once.
 */
export function snapshotStartsUnder(flags: readonly string[], blob: string, nodeOptions: string | undefined): boolean {
  if (!nodeOptions?.trim()) return true;
  const probe = spawnSync(process.execPath, [...flags, "--snapshot-blob", blob], {
    input: "",
    env: { PATH: process.env.PATH ?? "", NODE_OPTIONS: nodeOptions },
    stdio: ["pipe", "ignore", "ignore"],
    timeout: 15_000,
  });
  return probe.status === 0;
}

/** The npm package has no manifest: the flags scripts/bundle-worker.mjs records (WORKER_NODE_FLAGS) for a script start. */
const PACKAGED_WORKER_FLAGS = ["--max-semi-space-size=1"];

function workspaceManifest(): string {
  return fileURLToPath(new URL("../../worker/dist/main.bundle.json", import.meta.url));
}

const BundleManifest = z.object({
  bundle: z.string(),
  inputs: z.record(z.string(), z.number()),
  snapshot: z.object({ blob: z.string(), node: z.string(), arch: z.string() }).nullish(),
  /** V8 flags for the bundle and the blob (the blob starts only under the flags it was built with). */
  nodeFlags: z.array(z.string()).default([]),
});

/** The bundle a manifest names, unless it is missing or one of its inputs changed since (e.g. a later `tsc -b` alone). */
export function currentBundle(manifest: string): string | null {
  return readCurrent(manifest)?.bundle ?? null;
}

/**
 * The start-up snapshot a manifest names, while the bundle is current, the blob exists and it was
 * built by this very Node (`node --snapshot-blob` refuses a blob from another build).
 */
export function currentSnapshot(manifest: string, node = { version: process.version, arch: process.arch }): string | null {
  const snapshot = readCurrent(manifest)?.snapshot;
  if (!snapshot || snapshot.node !== node.version || snapshot.arch !== node.arch || !existsSync(snapshot.blob)) return null;
  return snapshot.blob;
}

function readCurrent(manifest: string): z.infer<typeof BundleManifest> | null {
  try {
    const parsed = BundleManifest.parse(JSON.parse(readFileSync(manifest, "utf8")));
    if (!existsSync(parsed.bundle)) return null;
    return inputsUnchanged(parsed.inputs) ? parsed : null;
  } catch {
    return null; // no bundle built, or an input is gone: the unbundled worker
  }
}

/**
 * V8 flags the host runs with (the systemd unit's ExecStart, `pnpm start`, main.js's `#!` line — a test
 * keeps them equal). A young generation of at most 3 × 8 MB instead of V8's 3 × 16 MB: host VmRSS with
 * 1 000 admitted conversations 125 → 111 MB, no measurable CPU per turn (2 MB cost ~25 % more host CPU
 * per turn; docs/PERFORMANCE.md "Host memory"). `--single-threaded-gc`: V8's GC helper threads cost the
 * host ~1.4 ms of CPU per turn at 10 conversations (a quarter of its CPU) on top of the main thread's
 * share; done on the main thread alone it costs less in all (host CPU per turn −0.14…−0.26 ms in eight
 * simultaneous pairs at 10 conversations, lower at 100 too; docs/PERFORMANCE.md "Host turn").
 * `--interrupt-budget` 4 × V8's default: a young host spent ~0.5–0.8 ms of CPU per turn in TurboFan,
 * compiling ~250 functions one after another over its first ~1 500 turns; a function is optimized only
 * after 4 × more of its bytecode ran, so fewer and later compiles (host CPU per turn −0.6…−1.4 ms over
 * the bench's 10 × 10, steady state unchanged; docs/PERFORMANCE.md "Host JIT compiles").
 * `--compact-on-every-full-gc`: V8 otherwise moves objects off half-empty old-space pages only past its own
 * fragmentation thresholds, so after a flood the old space stayed ~60 MB resident for ~30 MB live and the
 * host was measured ~+9 % larger at a second flood's admission; compacting every full collection keeps the
 * pages near the live heap (+4.2 % / −1.6 % against +9.6 % / +9.0 % in simultaneous pairs, host CPU per
 * turn unchanged within noise), at the price of longer full-collection pauses (several × under load).
 * The idle collection (IdleCollector) leaves it on.
 */
export const HOST_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--single-threaded-gc", "--interrupt-budget=270336", "--compact-on-every-full-gc"];

/** The host entry point (what `starling` runs), for the systemd unit. */
export function hostMainPath(): string {
  return isBundled() ? fileURLToPath(new URL("./starling.js", import.meta.url)) : fileURLToPath(new URL("./main.js", import.meta.url));
}

/**
 * argv that starts a worker. `agent_server.path` from the config wins when it exists (a `.js` file
 * runs under this Node); otherwise the bundled worker is used (the config loader already warned).
 */
export function workerCommand(configuredPath: string | undefined, nodeOptions: string | undefined = process.env.NODE_OPTIONS): [string, ...string[]] {
  if (configuredPath && existsSync(configuredPath)) {
    return configuredPath.endsWith(".js") ? [process.execPath, configuredPath] : [configuredPath];
  }
  return [process.execPath, ...bundledWorkerArgs(nodeOptions)];
}
