import { CancellationTokenSource, type MessageConnection } from "vscode-jsonrpc/node.js";
import { type FoundReal, Methods } from "@starling/protocol";
import type { WorkerLogger } from "./logger.js";

/** One database write by the host; this bounds a stuck host (the tool waiting for it then runs). */
const REPORT_TIMEOUT_MS = 10_000;
/** Real paths per request (the schema's bound). */
const REPORT_MAX = 64;

/**
 * Reports real paths of hidden paths found mid-life to the host (`sandbox/hiddenPaths`), which keeps them for later
 * workers. Never rejects: a host that does not serve it (an embedder), refuses some, or does not answer in time is
 * logged; this worker still masks and refuses them for its own life.
 */
export function createHiddenReporter(connection: MessageConnection, log: WorkerLogger) {
  const report = async (found: FoundReal[]): Promise<void> => {
    for (let at = 0; at < found.length; at += REPORT_MAX) await reportSome(found.slice(at, at + REPORT_MAX));
  };
  const reportSome = async (found: FoundReal[]): Promise<void> => {
    const source = new CancellationTokenSource();
    const timer = setTimeout(() => source.cancel(), REPORT_TIMEOUT_MS);
    try {
      const pending = connection.sendRequest(Methods.hiddenPaths.method, { found }, source.token);
      const timedOut = new Promise<never>((_, reject) => {
        source.token.onCancellationRequested(() => reject(new Error(`no answer within ${REPORT_TIMEOUT_MS} ms`)));
      });
      const { kept } = Methods.hiddenPaths.result.parse(await Promise.race([pending, timedOut]));
      const refused = found.filter((f) => !kept.includes(f.real));
      if (refused.length) log.warn({ refused }, "the host keeps not every real path of a hidden path this worker found; later workers may not hide these");
    } catch (err) {
      log.warn({ found, err: err instanceof Error ? err.message : String(err) }, "could not report where hidden paths lead to the host; later workers may not hide these");
    } finally {
      clearTimeout(timer);
      source.dispose();
    }
  };
  return report;
}
