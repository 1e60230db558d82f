// The real `starling` CLI with only a web channel, a fake model, and a small HTTP/SSE client.
import { existsSync, readFileSync } from "node:fs";
import { freePort } from "../fakes/free-port.js";
import { join } from "node:path";
import { sseChunk, startFakeOpenAI, type FakeOpenAI, type Responder, type ScriptedReply } from "../fakes/openai-server.js";
import { sseEvents } from "./web-sse.js";
import { startCli, stopGracefully, tempDir, until, writeHostConfig, type RunningCli } from "./host-harness.js";

export const WEB_TOKEN = "web-e2e-token-0123456789";
const MODEL_KEY = "e2e-model-key";

export interface WebEvent {
  id: number;
  kind: string;
  text: string;
  messageId?: string;
  path?: string;
  turnEnd?: { outcome: string; canContinue: boolean; messageIds?: string[] };
}

/** A model that writes slowly: the reply streamed in pieces of `pieceChars`, `pauseMs` apart. */
export function slowReply(text: string, pieceChars: number, pauseMs: number): ScriptedReply {
  const pieces = [sseChunk({ role: "assistant", content: "" })];
  for (let i = 0; i < text.length; i += pieceChars) pieces.push(sseChunk({ content: text.slice(i, i + pieceChars) }));
  return { raw: { steps: [...pieces.flatMap((p) => [{ pauseMs }, p]), sseChunk({}, "stop"), "data: [DONE]\n\n"] } };
}

export { freePort };

export interface WebE2E {
  origin: string;
  model: FakeOpenAI;
  workdir: string;
  host: RunningCli | null;
  start(env?: Record<string, string>): Promise<RunningCli>;
  stop(signal?: NodeJS.Signals): Promise<unknown>;
  /** fetch with the bearer token (unless `token: null`). */
  call(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit & { json?: unknown }): Promise<T>;
  logTail(): string;
  close(): Promise<void>;
}

export async function startWebE2E(
  responder: Responder,
  extraModels?: Record<string, unknown>,
  extraConfig: Record<string, unknown> = {},
  mainModel: Record<string, unknown> = {},
): Promise<WebE2E> {
  const model = await startFakeOpenAI({ apiKey: MODEL_KEY, responder });
  const tmp = tempDir("starling-web-");
  const workdir = join(tmp.dir, "workdir");
  const port = await freePort();
  const configPath = writeHostConfig(tmp.dir, {
    apiRoot: "http://127.0.0.1:9",
    modelUrl: model.url,
    mainModel,
    // An extra model without a `url` is served by the same fake model.
    ...(extraModels ? { extraModels: Object.fromEntries(Object.entries(extraModels).map(([alias, m]) => [alias, { url: model.url, ...(m as object) }])) } : {}),
    extra: { channels: [{ kind: "web", id: "web", bind_addr: `127.0.0.1:${port}`, token_env: "WEB_TOKEN" }], ...extraConfig },
  });
  const origin = `http://127.0.0.1:${port}`;
  const logTail = () => {
    const file = join(workdir, "logs", "host.log");
    return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").slice(-40).join("\n") : "(no host log)";
  };
  const e2e: WebE2E = {
    origin,
    model,
    workdir,
    host: null,
    async start(env = {}) {
      const host = startCli(["--config", configPath, "--workdir", workdir], { WEB_TOKEN, FAKE_MODEL_KEY: MODEL_KEY, ...env });
      e2e.host = host;
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (host.child.exitCode !== null || host.child.signalCode !== null) throw new Error(`host exited: ${host.output()}\n${logTail()}`);
        const ok = await fetch(`${origin}/api/health`, { headers: { authorization: `Bearer ${WEB_TOKEN}` } }).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`the web channel did not answer on ${origin}\n${host.output()}\n${logTail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return host;
    },
    async stop(signal = "SIGTERM") {
      return e2e.host?.stop(signal);
    },
    call(path, init = {}) {
      const { token = WEB_TOKEN, json, ...rest } = init;
      const headers: Record<string, string> = { ...(rest.headers as Record<string, string>) };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (json !== undefined) headers["content-type"] = "application/json";
      return fetch(`${origin}${path}`, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    async json(path, init) {
      const res = await e2e.call(path, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path}: HTTP ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    logTail,
    async close() {
      await stopGracefully(e2e.host);
      await model.close();
      if (!process.env.STARLING_E2E_KEEP) tmp.cleanup();
    },
  };
  return e2e;
}

/** An SSE connection that collects events; `close()` drops it like a lost network. */
export function openEvents(e2e: WebE2E, conversationId: string, lastEventId?: number) {
  const controller = new AbortController();
  const events: WebEvent[] = [];
  const progress: { phase: string; toolName?: string }[] = [];
  const deltas: { turnKey: string; step: number; offset: number; text: string }[] = [];
  /** What came, in order: `delta`, `progress` or the message's kind. */
  const order: string[] = [];
  const ids: number[] = [];
  const done = (async () => {
    const headers: Record<string, string> = { authorization: `Bearer ${WEB_TOKEN}` };
    if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId);
    const res = await fetch(`${e2e.origin}/api/conversations/${conversationId}/events`, { headers, signal: controller.signal });
    if (res.status !== 200 || !res.body) throw new Error(`events: HTTP ${res.status}`);
    for await (const { type, id, data } of sseEvents(res.body)) {
      if (type === "progress") progress.push(JSON.parse(data));
      else if (type === "delta") deltas.push(JSON.parse(data));
      else {
        events.push(JSON.parse(data));
        ids.push(Number(id));
      }
      order.push(type === "message" ? events.at(-1)!.kind : (type ?? "?"));
    }
  })().catch((err: unknown) => {
    // A dropped connection (aborted here, or the host went away) ends the stream like a lost network.
    if (!controller.signal.aborted && !/terminated|other side closed/.test(String((err as Error).message))) throw err;
  });
  return {
    events,
    progress,
    deltas,
    order,
    ids,
    done,
    close: () => controller.abort(),
    wait: (pred: (events: WebEvent[]) => boolean, what: string, timeoutMs = 20_000) =>
      until(() => pred(events), timeoutMs, what).catch((err: Error) => {
        throw new Error(`${err.message}; got ${JSON.stringify(events.map((e) => [e.id, e.kind, e.text.slice(0, 60)]))}\n${e2e.logTail()}`);
      }),
  };
}
