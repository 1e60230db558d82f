import type { IncomingMessage } from "node:http";
import { extraCaList } from "@starling/protocol";
import type { ModelResponse } from "../types.js";
import { ProviderError } from "../types.js";
import { describeUrl, kindForStatus, statusError } from "../http.js";
import { abortedError } from "../retry.js";
import { ResponseAssembler } from "../responses/response-assembler.js";

/** `ws` is loaded on a codex session's first model call, never at worker start (packages/core/README.md). */
let wsModule: Promise<typeof import("ws")> | undefined;
const loadWs = (): Promise<typeof import("ws")> => (wsModule ??= import("ws"));

export interface CodexExchange {
  url: string;
  headers: Record<string, string>;
  /** The `response.create` frame. */
  frame: string;
  connTimeoutMs: number;
  idleTimeoutMs: number;
  signal: AbortSignal;
  onDelta?: ((text: string) => void) | undefined;
}

/** `https://…` → `wss://…`, `http://…` → `ws://…`; ws(s) kept; anything else is a config error. */
export function websocketUrl(url: string): string {
  const match = /^(https?|wss?):\/\//i.exec(url);
  if (!match) throw new ProviderError("config", `codex_subscription needs an http(s) or ws(s) URL, not ${describeUrl(url)}`, { retryable: false });
  const scheme = match[1]!.toLowerCase();
  const mapped = scheme === "https" ? "wss" : scheme === "http" ? "ws" : scheme;
  return mapped + url.slice(match[1]!.length);
}

const HANDSHAKE_BODY_LIMIT = 64 * 1024;

/**
 * One request over a fresh WebSocket (reference §1.5): handshake (bounded by `conn_timeout`), the
 * `response.create` frame, then events until `response.completed`. Silence longer than
 * `stream_idle_timeout` (ping frames do not count; `ws` answers them) fails with kind `timeout`;
 * a close or transport error before completion with kind `network` (retryable); an HTTP status at the
 * handshake, or an `error` / `response.failed` event carrying one, with that status's kind (401 is the
 * caller's cue to renew the token). Aborting `signal` terminates the socket at once.
 */
export async function codexExchange(request: CodexExchange): Promise<ModelResponse> {
  const { signal } = request;
  if (signal.aborted) throw abortedError(signal);
  const WebSocket = (await loadWs()).default;
  // A private CA (STARLING_EXTRA_CA_CERTS) applies here as to https model calls.
  const ca = request.url.startsWith("wss:") ? extraCaList((await import("node:tls")).default.rootCertificates) : undefined;
  if (signal.aborted) throw abortedError(signal);
  const where = describeUrl(request.url);
  return new Promise<ModelResponse>((resolve, reject) => {
    const assembler = new ResponseAssembler(request.onDelta, { keepReasoning: {} });
    const socket = new WebSocket(request.url, { headers: request.headers, perMessageDeflate: false, followRedirects: false, ...(ca ? { ca } : {}) });
    let settled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const connTimer = setTimeout(
      () => fail(new ProviderError("timeout", `the codex server at ${where} did not complete the WebSocket handshake within ${request.connTimeoutMs / 1000} s`)),
      request.connTimeoutMs,
    );
    const armIdle = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => fail(new ProviderError("timeout", `the codex stream from ${where} was silent for ${request.idleTimeoutMs / 1000} s`)),
        request.idleTimeoutMs,
      );
    };
    const onAbort = (): void => fail(abortedError(signal));
    signal.addEventListener("abort", onAbort, { once: true });

    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(connTimer);
      clearTimeout(idleTimer);
      signal.removeEventListener("abort", onAbort);
      return true;
    }
    function fail(error: unknown): void {
      if (!settle()) return;
      socket.terminate();
      reject(error);
    }

    socket.on("unexpected-response", (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < HANDSHAKE_BODY_LIMIT) chunks.push(chunk);
        size += chunk.length;
      });
      const done = (): void => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = { get: (name: string) => headerValue(res.headers[name.toLowerCase()]) };
        fail(statusError(res.statusCode ?? 0, headers, body, request.url));
      };
      res.on("end", done);
      res.on("error", done);
    });
    socket.on("open", () => {
      clearTimeout(connTimer);
      armIdle();
      socket.send(request.frame, (err) => err && fail(new ProviderError("network", `sending the request to ${where} failed: ${err.message}`, { cause: err })));
    });
    socket.on("message", (data, isBinary) => {
      if (settled) return;
      armIdle();
      let event: unknown;
      try {
        event = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString("utf8") : String(data));
      } catch (cause) {
        return fail(new ProviderError("server", `the codex server at ${where} sent a frame that is not JSON`, { cause, retryable: false }));
      }
      try {
        const done = handleEvent(assembler, event, where);
        if (done && settle()) {
          socket.close(1000);
          resolve(assembler.finish());
        }
      } catch (error) {
        fail(error);
      }
    });
    socket.on("close", (code, reason) => {
      const why = reason.length ? `: ${reason.toString("utf8").slice(0, 200)}` : "";
      fail(new ProviderError("network", `the codex server at ${where} closed the connection before the reply was complete (code ${code}${why})`));
    });
    socket.on("error", (err) => fail(new ProviderError("network", `codex connection to ${where} failed: ${err.message}`, { cause: err })));
  });
}

/** Feeds one event to the assembler; true at `response.completed` (or `response.incomplete`). */
function handleEvent(assembler: ResponseAssembler, event: unknown, where: string): boolean {
  const record = event && typeof event === "object" ? (event as Record<string, unknown>) : {};
  const type = record.type;
  if (type === "error" || type === "response.failed") {
    const status = reportedStatus(record);
    if (status !== undefined) {
      const message = reportedMessage(record) ?? "no message";
      throw new ProviderError(kindForStatus(status), `HTTP ${status} from the codex stream at ${where}: ${message}`, { status });
    }
  }
  if (type === "response.completed" && !(record.response && typeof record.response === "object")) {
    throw new ProviderError("server", `the codex server at ${where} sent response.completed without a response`, { retryable: false });
  }
  return assembler.addEvent(event);
}

/** A numeric `status` / `status_code` on the event, its `error` or its `response` (reference: such a failure is an HTTP status). */
function reportedStatus(record: Record<string, unknown>): number | undefined {
  const places = [record, record.error, record.response, (record.response as Record<string, unknown> | undefined)?.error];
  for (const place of places) {
    if (!place || typeof place !== "object") continue;
    for (const key of ["status", "status_code"]) {
      const value = (place as Record<string, unknown>)[key];
      if (typeof value === "number" && value >= 400 && value < 600) return value;
    }
  }
  return undefined;
}

function reportedMessage(record: Record<string, unknown>): string | undefined {
  const response = record.response as Record<string, unknown> | undefined;
  for (const place of [record.error, response?.error, record]) {
    if (typeof place === "string") return place;
    const message = place && typeof place === "object" ? (place as Record<string, unknown>).message : undefined;
    if (typeof message === "string") return message;
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}
