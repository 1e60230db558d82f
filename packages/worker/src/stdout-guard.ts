import { format } from "node:util";

/**
 * stdout is the JSON-RPC wire: one stray `console.log` would desync the connection. Every console
 * method is rerouted to stderr before anything else loads.
 */
export function guardStdout(): void {
  const toStderr = (...args: unknown[]) => {
    process.stderr.write(format(...args) + "\n");
  };
  for (const method of ["log", "info", "debug", "warn", "error", "trace", "dir", "table"] as const) {
    (console as unknown as Record<string, unknown>)[method] = toStderr;
  }
}
