import { CancellationTokenSource, type MessageConnection } from "vscode-jsonrpc/node.js";
import { Methods } from "@starling/protocol";

export const DEFAULT_COORDINATE_TIMEOUT_MS = 60_000;

/**
 * Asks the host to act for a tool (`host/coordinate`). The request is cancelled (`$/cancelRequest`)
 * when the tool's signal aborts or the timeout passes; a refusal by the host rejects with its reason.
 */
export function createCoordinator(connection: MessageConnection, timeoutMs: number) {
  return async (action: string, payload: unknown, signal: AbortSignal, ids: { turnId: number | null; callId: string | null } = { turnId: null, callId: null }): Promise<unknown> => {
    const source = new CancellationTokenSource();
    const timer = setTimeout(() => source.cancel(), timeoutMs);
    const onAbort = () => source.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const pending = connection.sendRequest(Methods.coordinate.method, { action, payload, ...ids }, source.token);
      const cancelled = new Promise<never>((_, reject) => {
        source.token.onCancellationRequested(() =>
          reject(
            new Error(
              signal.aborted
                ? `host/coordinate ${action} cancelled; the host may or may not have done it (outcome unknown)`
                : `host/coordinate ${action} timed out after ${timeoutMs} ms; the host may or may not have done it (outcome unknown)`,
            ),
          ),
        );
      });
      const raw = await Promise.race([pending, cancelled]);
      const result = Methods.coordinate.result.parse(raw);
      if (!result.ok) throw new Error(`host refused ${action}: ${result.error ?? "no reason given"}`);
      return result.result;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      source.dispose();
    }
  };
}
