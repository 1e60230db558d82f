import { existsSync } from "node:fs";
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

/** The worker that ships with this host: the package's starling-worker.js, or packages/worker/dist/main.js. */
export function bundledWorkerMain(): string {
  return isBundled()
    ? fileURLToPath(new URL("./starling-worker.js", import.meta.url))
    : fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));
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
