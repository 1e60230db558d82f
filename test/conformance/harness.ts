// Conformance harness: drives the compiled starling-worker over real stdio.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  PROTOCOL_VERSION,
  spawnWorker,
  type InitializeParams,
  type InitializeResult,
  type SessionEvent,
  type SessionEventParams,
  type WorkerClient,
} from "@starling/protocol";

export const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));

export function tempWorkspace(prefix = "starling-conf-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface WorkerUnderTest {
  client: WorkerClient;
  events: SessionEventParams[];
  stderr: string[];
  init: InitializeResult;
  /** Resolves with the first event (after `fromSeq`) matching the predicate. */
  waitForEvent<T extends SessionEvent["type"]>(
    type: T,
    predicate?: (e: Extract<SessionEvent, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<SessionEvent, { type: T }> & { seq: number }>;
  eventsOf<T extends SessionEvent["type"]>(type: T): (Extract<SessionEvent, { type: T }> & { seq: number })[];
}

export interface StartOptions {
  workspace: string;
  modelUrl: string;
  sessionId?: string;
  env?: NodeJS.ProcessEnv;
  init?: Partial<InitializeParams>;
  /** Acknowledge durable events automatically (default true). */
  autoAck?: boolean;
}

export function modelConfig(url: string) {
  return {
    provider_type: "open_router_completion" as const,
    model_name: "fake-model",
    url,
    api_key_env: "FAKE_MODEL_KEY",
    capabilities: ["chat" as const],
    retry_mode: { random_interval: { max_interval_secs: 0.05, max_retries: 1 } },
    conn_timeout: 5,
  };
}

export async function startWorker(options: StartOptions): Promise<WorkerUnderTest> {
  const events: SessionEventParams[] = [];
  const stderr: string[] = [];
  const waiters: (() => void)[] = [];
  const client = spawnWorker({
    command: [process.execPath, WORKER_MAIN],
    cwd: options.workspace,
    env: { ...process.env, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn", ...options.env },
    stderr: (line) => stderr.push(line),
  });
  client.onEvent((e) => {
    events.push(e);
    if (options.autoAck !== false && ["turn_completed", "turn_failed", "turn_cancelled", "turn_superseded", "turn_recovered"].includes(e.event.type)) {
      void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    }
    for (const w of waiters.splice(0)) w();
  });
  const init = await client.initialize({
    protocolVersion: PROTOCOL_VERSION,
    sessionId: options.sessionId ?? "conf.foreground",
    sessionType: "foreground",
    workspace: options.workspace,
    model: modelConfig(options.modelUrl),
    ...options.init,
  });
  const matches = (type: string, predicate?: (e: never) => boolean) => (p: SessionEventParams) =>
    p.event.type === type && (!predicate || predicate(p.event as never));
  return {
    client,
    events,
    stderr,
    init,
    eventsOf: (type) => events.filter((p) => p.event.type === type).map((p) => ({ ...p.event, seq: p.seq })) as never,
    waitForEvent: (type, predicate, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(matches(type, predicate as never));
          if (hit) {
            clearTimeout(timer);
            resolve({ ...hit.event, seq: hit.seq } as never);
            return true;
          }
          return false;
        };
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${type}; saw: ${events.map((e) => e.event.type).join(", ")}\nstderr: ${stderr.slice(-5).join("\n")}`)),
          timeoutMs,
        );
        const loop = () => {
          if (!check()) waiters.push(loop);
        };
        loop();
      }),
  };
}

export function userMessage(messageId: string, text: string) {
  return { messageId, kind: "user" as const, message: { role: "user" as const, content: [{ type: "text" as const, text }] } };
}
