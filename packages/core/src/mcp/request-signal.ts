/**
 * A signal for one MCP SDK request that aborts with `parent`. The SDK (1.x `Protocol.request`) adds an abort listener
 * to the signal it is given and never removes it: a turn's signal given to every page of a long `tools/list` would
 * collect one listener (and the request's closures) per page until the turn ends. This one is let go after the request.
 */
export async function withRequestSignal<T>(parent: AbortSignal, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener("abort", onAbort, { once: true });
  try {
    return await request(controller.signal);
  } finally {
    parent.removeEventListener("abort", onAbort);
  }
}
