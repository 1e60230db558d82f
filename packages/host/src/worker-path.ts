import { existsSync, readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { fileURLToPath } from "node:url";

// Replaced by the version string when `pnpm package` bundles the host (scripts/package.mjs); in the
// workspace build it is undeclared, so `typeof` is "undefined".
declare const STARLING_BUNDLE_VERSION: string | undefined;

/** True inside the npm package made by `pnpm package` (one bundle file per bin in the same folder). */
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
  const manifest = fileURLToPath(new URL("../../worker/dist/main.bundle.json", import.meta.url));
  return (workspaceWorker ??= currentBundle(manifest) ?? fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url)));
}
let workspaceWorker: string | undefined;

const BundleManifest = z.object({ bundle: z.string(), inputs: z.record(z.string(), z.number()) });

/** The bundle a manifest names, unless it is missing or one of its inputs changed since (e.g. a later `tsc -b` alone). */
export function currentBundle(manifest: string): string | null {
  try {
    const { bundle, inputs } = BundleManifest.parse(JSON.parse(readFileSync(manifest, "utf8")));
    if (!existsSync(bundle)) return null;
    for (const [path, mtimeMs] of Object.entries(inputs)) if (statSync(path).mtimeMs !== mtimeMs) return null;
    return bundle;
  } catch {
    return null; // no bundle built, or an input is gone: the unbundled worker
  }
}

/** The host entry point (what `starling` runs), for the systemd unit. */
export function hostMainPath(): string {
  return isBundled() ? fileURLToPath(new URL("./starling.js", import.meta.url)) : fileURLToPath(new URL("./main.js", import.meta.url));
}

/**
 * argv that starts a worker. `agent_server.path` from the config wins when it exists (a `.js` file
 * runs under this Node); otherwise the bundled worker is used (the config loader already warned).
 */
export function workerCommand(configuredPath: string | undefined): [string, ...string[]] {
  if (configuredPath && existsSync(configuredPath)) {
    return configuredPath.endsWith(".js") ? [process.execPath, configuredPath] : [configuredPath];
  }
  return [process.execPath, bundledWorkerMain()];
}
