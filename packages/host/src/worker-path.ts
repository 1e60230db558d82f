import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The worker bundled with this checkout (packages/worker/dist/main.js). */
export function bundledWorkerMain(): string {
  return fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));
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
