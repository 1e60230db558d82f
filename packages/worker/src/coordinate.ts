import { CancellationTokenSource, type MessageConnection } from "vscode-jsonrpc/node.js";
import { Methods } from "@starling/protocol";

export const DEFAULT_COORDINATE_TIMEOUT_MS = 60_000;
/**
 * After the tool's signal aborts, how long the host's answer is still awaited: the host is told
 * (`$/cancelRequest`) and answers at once when it can (subagent_join stops waiting and reports the
 * subagent's status, "killed" when a /cancel stopped it). Below the tool runtime's ABORT_GRACE_MS (500).
 */
export const ANSWER_AFTER_CANCEL_MS = 400;

/**
 * Asks the host to act for a tool (`host/coordinate`). The request is cancelled (`$/cancelRequest`)
 * when the tool's signal aborts or the timeout passes; a refusal by the host rejects with its reason.
 */
export function createCoordinator(connection: MessageConnection, timeoutMs: number) {
  return async (action: string, payload: unknown, signal: AbortSignal, ids: { turnId: number | null; callId: string | null } = { turnId: null, callId: null }): Promise<unknown> => {
    const source = new CancellationTokenSource();
    const timer = setTimeout(() => source.cancel(), timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    const onAbort = () => source.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const pending = connection.sendRequest(Methods.coordinate.method, { action, payload, ...ids }, source.token);
      const cancelled = new Promise<never>((_, reject) => {
        source.token.onCancellationRequested(() => {
          if (!signal.aborted) {
            reject(new Error(`host/coordinate ${action} timed out after ${timeoutMs} ms; the host may or may not have done it (outcome unknown)`));
            return;
          }
          grace = setTimeout(
            () => reject(new Error(`host/coordinate ${action} cancelled; the host may or may not have done it (outcome unknown)`)),
            ANSWER_AFTER_CANCEL_MS,
          );
        });
      });
      const raw = await Promise.race([pending, cancelled]);
      const result = Methods.coordinate.result.parse(raw);
      if (!result.ok) throw new Error(`host refused ${action}: ${result.error ?? "no reason given"}`);
      return result.result;
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      signal.removeEventListener("abort", onAbort);
      source.dispose();
    }
  };
}
