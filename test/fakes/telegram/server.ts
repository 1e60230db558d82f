import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ApiError } from "./api-error.js";
import { botMethods } from "./methods/bot.js";
import type { MethodHandler } from "./methods/context.js";
import { mediaMethods } from "./methods/media.js";
import { messageMethods } from "./methods/messages.js";
import { type Params, parseParams, readBody } from "./params.js";
import type { FakeState } from "./state.js";
import type { Nemesis, NemesisAction } from "./nemesis.js";
import type { Fault } from "./types.js";

const METHODS: Record<string, MethodHandler> = { ...botMethods, ...messageMethods, ...mediaMethods };
/** Bot API method names are case-insensitive. */
const BY_LOWER = new Map(Object.keys(METHODS).map((name) => [name.toLowerCase(), name]));

const FAULT_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden: bot was blocked by the user",
  409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
  500: "Internal Server Error",
  502: "Bad Gateway",
};

/**
 * When a request "arrives" (is seen by the flood limits and the method): the test may hold it after
 * its body was read, as a slow network does, e.g. the first request on a fresh connection (a TCP and
 * TLS handshake to Telegram) arriving after requests the client sent later on warm ones.
 */
export type ArrivalHold = (call: { method: string; params: Record<string, unknown>; firstOnConnection: boolean }) => Promise<void> | undefined;

function faultError(fault: Fault): ApiError {
  if (fault.status === 429) return new ApiError(429, `Too Many Requests: retry after ${fault.retryAfter}`, fault.retryAfter);
  const description = fault.description ?? FAULT_TEXT[fault.status] ?? "Error";
  const prefixed = fault.status === 400 && !description.startsWith("Bad Request") ? `Bad Request: ${description}` : description;
  return new ApiError(fault.status, prefixed);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

/** HTTP front of the fake: `/bot<token>/<method>` and `/file/bot<token>/<file_path>`. */
export class FakeBotApiServer {
  private readonly server: Server;
  private readonly faults = new Map<string, Fault[]>();
  private readonly state: FakeState;
  private nemesis: Nemesis | undefined;
  private arrival: ArrivalHold | undefined;
  private readonly sockets = new WeakSet<Socket>();

  constructor(state: FakeState) {
    this.state = state;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        send(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${(error as Error).message}` });
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  failNext(method: string, fault: Fault, times: number): void {
    const key = method.toLowerCase();
    const list = this.faults.get(key) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(key, list);
  }

  setNemesis(nemesis: Nemesis | undefined): void {
    this.nemesis = nemesis;
  }

  setArrivalHold(hold: ArrivalHold | undefined): void {
    this.arrival = hold;
  }

  /** Answers held long polls with `[]`, then closes every connection. */
  async close(): Promise<void> {
    this.state.queue.close();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file !== null) return this.download(res, file[1]!, decodeURIComponent(file[2]!));
    const call = /^\/bot([^/]+)\/([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
    if (call === null) return send(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const startedAt = Date.now();
    const firstOnConnection = !this.sockets.has(req.socket);
    this.sockets.add(req.socket);
    const body = await readBody(req);
    if (call[1] !== this.state.token) return send(res, 401, new ApiError(401, "Unauthorized").toJSON());
    const requested = call[2]!;
    const method = BY_LOWER.get(requested.toLowerCase());
    let params: Params | undefined;
    try {
      params = parseParams(url, req.headers["content-type"] ?? "", body);
      if (method === undefined) throw new ApiError(404, "Not Found: method not found");
      await this.arrival?.({ method, params: params.forRecord(), firstOnConnection });
      const fault = this.faults.get(method.toLowerCase())?.shift();
      if (fault !== undefined) throw faultError(fault);
      const action = this.nemesis?.({ method, params: params.forRecord() });
      if (action !== undefined && (await this.before(action, res))) {
        return this.record(method, params, startedAt, 0, `nemesis: ${action.kind}`);
      }
      const controller = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) controller.abort();
      });
      const result = await METHODS[method]!({ state: this.state, params, signal: controller.signal });
      if (action?.kind === "reset_after") {
        res.socket?.destroy();
        return this.record(method, params, startedAt, 0, "nemesis: reset after the method ran");
      }
      this.record(method, params, startedAt, 200);
      send(res, 200, { ok: true, result });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.record(method ?? requested, params, startedAt, error.status, error.description, error.retryAfter);
      send(res, error.status, error.toJSON());
    }
  }

  /** Applies a nemesis action before the method; true when the request is finished (reset, hung). */
  private async before(action: NemesisAction, res: ServerResponse): Promise<boolean> {
    switch (action.kind) {
      case "fault":
        throw faultError(action.fault);
      case "reset":
        res.socket?.destroy();
        return true;
      case "hang":
        await new Promise<void>((resolve) => res.once("close", () => resolve()));
        return true;
      case "delay":
        await new Promise((resolve) => setTimeout(resolve, action.ms));
        return res.destroyed;
      case "hold":
        await action.until;
        return res.destroyed;
      case "reset_after":
        return false;
    }
  }

  private record(method: string, params: Params | undefined, startedAt: number, status: number, error?: string, retryAfter?: number): void {
    this.state.calls.push({
      method,
      params: params?.forRecord() ?? {},
      startedAt,
      at: Date.now(),
      status,
      ...(error !== undefined ? { error } : {}),
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    });
  }

  private download(res: ServerResponse, token: string, filePath: string): void {
    if (token !== this.state.token) return send(res, 401, new ApiError(401, "Unauthorized").toJSON());
    const file = this.state.filesByPath.get(filePath);
    if (file === undefined) return send(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    res.writeHead(200, { "content-type": file.mimeType ?? "application/octet-stream", "content-length": file.bytes.length });
    res.end(file.bytes);
  }
}
