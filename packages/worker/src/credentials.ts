import { CancellationTokenSource, type MessageConnection } from "vscode-jsonrpc/node.js";
import { CODEX_SECRET_NAMES, Methods, type CredentialsParams, type CredentialsResult } from "@starling/protocol";
import { workerLogRedactor } from "./logger.js";

/** A refresh is one HTTP call by the host; this bounds a stuck host. */
const CREDENTIALS_TIMEOUT_MS = 60_000;

/**
 * Asks the host for fresher sign-in material (`model/credentials`, codex_subscription). The new token
 * and account id join the log redactor before anything can log them (the session adds them to its own).
 */
export function createCredentialsAsker(connection: MessageConnection) {
  return async (params: CredentialsParams, signal: AbortSignal): Promise<CredentialsResult> => {
    const source = new CancellationTokenSource();
    const timer = setTimeout(() => source.cancel(), CREDENTIALS_TIMEOUT_MS);
    const onAbort = () => source.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const pending = connection.sendRequest(Methods.credentials.method, params, source.token);
      const cancelled = new Promise<never>((_, reject) => {
        source.token.onCancellationRequested(() =>
          reject(new Error(signal.aborted ? "model/credentials cancelled" : `model/credentials timed out after ${CREDENTIALS_TIMEOUT_MS} ms`)),
        );
      });
      const result = Methods.credentials.result.parse(await Promise.race([pending, cancelled]));
      workerLogRedactor().add(CODEX_SECRET_NAMES.accessToken, result.accessToken);
      workerLogRedactor().add(CODEX_SECRET_NAMES.accountId, result.accountId);
      return result;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      source.dispose();
    }
  };
}
