/**
 * Loads the built-in the session's model client needs (node:http or node:https) right after
 * `initialize` is answered. A worker started from the snapshot binds those built-ins on first use
 * (scripts/bundle-worker.mjs), so its first answers do not wait for them and a worker with an http://
 * model never loads https and tls. Reading a property of the default export is what loads the module
 * there; elsewhere the import loads it. Settles once loaded (or failed: the first request loads it then).
 */
export function preloadModelTransport(url: string): Promise<void> {
  const transport = url.startsWith("https:") ? import("node:https") : import("node:http");
  return transport.then((m) => void m.default.request).catch(() => undefined);
}
