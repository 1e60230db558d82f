// Test harness for the session supervisor: a real HostStore in a temp dir, the real worker binary,
// the fake OpenAI server, and recorders for what the supervisor hands to the host.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { expect } from "vitest";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { PROTOCOL_VERSION, type InitializeParams, type SessionEvent } from "@starling/protocol";
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest, type ScriptedReply } from "../../../../test/fakes/openai-server.js";
import { waitLimit } from "../../../../test/fakes/wait-limit.js";
import { SessionSupervisor, type EventContext, type SessionLaunch, type SupervisorOptions } from "../../src/sessions/supervisor.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import { bundledWorkerArgs } from "../../src/worker-path.js";
import type { InboundItem } from "../../src/state/records.js";

export const WORKER_MAIN = fileURLToPath(new URL("../../../worker/dist/main.js", import.meta.url));
/** What the host starts for a conversation (the build's start-up snapshot while current): about half the CPU per start of WORKER_MAIN. */
const WORKER_ARGS = bundledWorkerArgs();

export interface DurableRecord {
  sessionId: string;
  event: SessionEvent;
  ctx: EventContext;
}

export interface HarnessOptions {
  /** The fake model's answer to each request (default: echo the last user text at once). */
  responder?: (req: RecordedRequest, index: number) => ScriptedReply;
  /** Extra worker environment for the n-th launch (1-based) of a session. */
  workerEnv?: (sessionId: string, launchNumber: number) => NodeJS.ProcessEnv;
  /** Runs inside the `event_processed` commit, after recording (e.g. to kill the worker there). */
  onDurable?: (record: DurableRecord) => void;
  /** Copies what the host writes to each worker into a file (read with `requests`). */
  recordRequests?: boolean;
}

/** One JSON-RPC message the host wrote to a worker. */
export interface RecordedFrame {
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
}

export interface Harness {
  dir: string;
  store: HostStore;
  fake: FakeOpenAI;
  durable: DurableRecord[];
  activity: { sessionId: string; event: SessionEvent; runningTurns: number }[];
  logs: Record<string, unknown>[];
  launches: string[];
  supervisors: SessionSupervisor[];
  supervisor(overrides?: Partial<SupervisorOptions>): SessionSupervisor;
  admit(sessionId: string, text: string, messageId?: string): Promise<InboundItem>;
  workerPid(sessionId: string): number;
  /** What the host wrote to the session's workers, every life (needs `recordRequests`). */
  requests(sessionId: string): RecordedFrame[];
  durableOf<T extends SessionEvent["type"]>(type: T, sessionId?: string): (DurableRecord & { event: Extract<SessionEvent, { type: T }> })[];
  close(): Promise<void>;
}

export function lastUserText(req: RecordedRequest): string {
  const messages = (req.body["messages"] ?? []) as { role: string; content: unknown }[];
  const user = [...messages].reverse().find((m) => m.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  if (Array.isArray(user.content)) {
    return user.content
      .map((part) => (typeof part === "object" && part && "text" in part ? String((part as { text: unknown }).text) : ""))
      .join("");
  }
  return "";
}

/** `initialize` of a foreground session on the fake model. */
export function sessionInit(sessionId: string, workspace: string, modelUrl: string): InitializeParams {
  return {
    protocolVersion: PROTOCOL_VERSION,
    sessionId,
    sessionType: "foreground",
    workspace,
    model: {
      provider_type: "open_router_completion",
      model_name: "fake",
      url: modelUrl,
      capabilities: ["chat"],
      retry_mode: { random_interval: { max_interval_secs: 0.05, max_retries: 1 } },
      conn_timeout: 5,
    },
  };
}

export const echo = (req: RecordedRequest): ScriptedReply => ({ text: `echo: ${lastUserText(req)}` });

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "starling-sup-"));
  const store = await HostStore.open(join(dir, "state", "host"));
  const fake = await startFakeOpenAI({ responder: options.responder ?? echo });
  const durable: DurableRecord[] = [];
  const activity: Harness["activity"] = [];
  const logs: Record<string, unknown>[] = [];
  const launches: string[] = [];
  const supervisors: SessionSupervisor[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const pidFile = (sessionId: string) => join(dir, `${sessionId}.pid`);
  const stdinCopy = (sessionId: string) => join(dir, `${sessionId}.stdin`);

  const launch = async (sessionId: string): Promise<SessionLaunch> => {
    launches.push(sessionId);
    const n = launches.filter((s) => s === sessionId).length;
    const workspace = join(dir, "ws", sessionId);
    mkdirSync(workspace, { recursive: true });
    return {
      init: sessionInit(sessionId, workspace, fake.url),
      // The shell records the pid, then becomes the worker (exec keeps the pid); with `recordRequests`
      // its stdin comes through `tee`, which copies every frame the host writes.
      command: options.recordRequests
        ? ["/bin/bash", "-c", 'echo $$ > "$STARLING_TEST_PIDFILE"; exec "$0" "$@" < <(exec tee -a "$STARLING_TEST_STDIN_COPY")', process.execPath, ...WORKER_ARGS]
        : ["/bin/sh", "-c", 'echo $$ > "$STARLING_TEST_PIDFILE"; exec "$0" "$@"', process.execPath, ...WORKER_ARGS],
      cwd: workspace,
      env: {
        ...process.env,
        STARLING_TEST_PIDFILE: pidFile(sessionId),
        STARLING_TEST_STDIN_COPY: stdinCopy(sessionId),
        STARLING_LOG_LEVEL: "info",
        ...options.workerEnv?.(sessionId, n),
      },
    };
  };

  const harness: Harness = {
    dir,
    store,
    fake,
    durable,
    activity,
    logs,
    launches,
    supervisors,
    supervisor(overrides = {}) {
      let sup: SessionSupervisor | undefined;
      sup = new SessionSupervisor({
        store,
        log,
        maxConcurrentTurns: 4,
        idleShutdownSeconds: 60,
        maxAutoContinues: 2,
        launch,
        onDurableEvent: (event, tx, ctx) => {
          const record = { sessionId: ctx.sessionId, event, ctx: { ...ctx } };
          durable.push(record);
          tx.put(`test:reply:${ctx.sessionId}:${durable.length}`, event.type);
          options.onDurable?.(record);
        },
        onActivity: (sessionId, event) => activity.push({ sessionId, event, runningTurns: sup?.runningTurns() ?? 0 }),
        coordinate: async () => ({ ok: false, error: "not in this test" }),
        restart: { initialDelayMs: 100, maxDelayMs: 1000 },
        ...overrides,
      });
      supervisors.push(sup);
      return sup;
    },
    admit(sessionId, text, messageId) {
      return store.commit("admit", (tx) => {
        const seq = tx.next("inbound");
        const item: InboundItem = {
          seq,
          conversationId: sessionId.split(".")[0]!,
          sessionId,
          messageId: messageId ?? `m-${seq}`,
          message: { role: "user", content: [{ type: "text", text }] },
          admittedAt: new Date().toISOString(),
        };
        tx.put(HostKeys.inbound(seq), item);
        return item;
      });
    },
    workerPid(sessionId) {
      return Number.parseInt(readFileSync(pidFile(sessionId), "utf8").trim(), 10);
    },
    requests(sessionId) {
      const file = stdinCopy(sessionId);
      return existsSync(file) ? contentLengthFrames(readFileSync(file)) : [];
    },
    durableOf(type, sessionId) {
      return durable.filter((d) => d.event.type === type && (!sessionId || d.sessionId === sessionId)) as never;
    },
    async close() {
      await Promise.all(supervisors.map((s) => s.stop(3000)));
      const logDir = process.env.SUP_TEST_LOG_DIR;
      if (logDir) {
        mkdirSync(logDir, { recursive: true });
        const name = (expect.getState().currentTestName ?? "test").replace(/[^A-Za-z0-9]+/g, "-").slice(0, 80);
        const events = durable.map((d) => ({ durable: d.event.type, sessionId: d.sessionId, ctx: d.ctx }));
        writeFileSync(join(logDir, `${name}.jsonl`), [...logs, ...events].map((l) => JSON.stringify(l)).join("\n"));
      }
      await fake.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The JSON bodies of a `Content-Length` framed stream (a cut-off last frame is left out). */
function contentLengthFrames(bytes: Buffer): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  let at = 0;
  for (;;) {
    const headerEnd = bytes.indexOf("\r\n\r\n", at);
    if (headerEnd < 0) return frames;
    const length = Number(/Content-Length: (\d+)/i.exec(bytes.subarray(at, headerEnd).toString("latin1"))?.[1]);
    const bodyEnd = headerEnd + 4 + length;
    if (!Number.isFinite(length) || bodyEnd > bytes.length) return frames;
    frames.push(JSON.parse(bytes.subarray(headerEnd + 4, bodyEnd).toString("utf8")) as RecordedFrame);
    at = bodyEnd;
  }
}

/** Polls `check` until it is true. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + waitLimit(timeoutMs);
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function replyText(event: SessionEvent): string {
  if (event.type !== "turn_completed") return "";
  return event.message.content.map((item) => (item.type === "text" ? item.text : "")).join("");
}

/** Supervisor options for in-process tests: the launch records the session and refuses to start (no worker). */
export function refusingOptions(store: HostStore, launches: string[]): SupervisorOptions {
  return {
    store,
    log: pino({ level: "silent" }),
    maxConcurrentTurns: 1,
    idleShutdownSeconds: 60,
    maxAutoContinues: 2,
    launch: async (sessionId) => {
      launches.push(sessionId);
      throw new Error("launch refused in this test");
    },
    onDurableEvent: () => undefined,
    onActivity: () => undefined,
    coordinate: async () => ({ ok: false, error: "not in this test" }),
  };
}
