// Conformance harness: drives the compiled starling-worker over real stdio.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from "../fakes/openai-server.js";
import { waitLimit } from "../fakes/wait-limit.js";
import {
  DURABLE_EVENT_TYPES,
  PROTOCOL_VERSION,
  spawnWorker,
  type InitializeParams,
  type InitializeResult,
  type LiveState,
  type SessionEvent,
  type SessionEventParams,
  type TranscriptMessage,
  type WorkerClient,
  type WorkerExit,
} from "@starling/protocol";
import { bundledWorkerArgs } from "../../packages/host/dist/worker-path.js";

/** The worker as embedders start it (`starling-worker`): a few tests keep to this file. */
export const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));
/**
 * The worker as the host starts one for every conversation: from the build's start-up snapshot while
 * that is current (else the bundle, else WORKER_MAIN), the same code. Also less than half the CPU per
 * start of the separate modules (~0.19 against ~0.48 s to start and exit here), for the hundreds of
 * workers the conformance files start.
 */
export const WORKER_ARGS: readonly string[] = bundledWorkerArgs();

export function tempWorkspace(prefix = "starling-conf-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

type EventOf<T extends SessionEvent["type"]> = Extract<SessionEvent, { type: T }> & { seq: number };

export interface WaitOptions {
  timeoutMs?: number;
  /** Only events at or after this index of `events` count (see `mark()`). */
  since?: number;
}

export interface WorkerUnderTest {
  client: WorkerClient;
  events: SessionEventParams[];
  stderr: string[];
  init: InitializeResult;
  /** Resolves with the first event (after `since`) matching the predicate. */
  waitForEvent<T extends SessionEvent["type"]>(
    type: T,
    predicate?: (e: Extract<SessionEvent, { type: T }>) => boolean,
    timeoutMs?: number | WaitOptions,
  ): Promise<EventOf<T>>;
  eventsOf<T extends SessionEvent["type"]>(type: T): EventOf<T>[];
  /** The current length of `events`, to wait only for later events. */
  mark(): number;
  /** Resolves when the worker process has exited. */
  exited(timeoutMs?: number): Promise<WorkerExit>;
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

export function initParams(options: StartOptions): InitializeParams {
  return {
    protocolVersion: PROTOCOL_VERSION,
    sessionId: options.sessionId ?? "conf.foreground",
    sessionType: "foreground",
    workspace: options.workspace,
    model: modelConfig(options.modelUrl) as InitializeParams["model"],
    ...options.init,
  };
}

/**
 * The shell tool runs `bash -lc`, so a login shell reads the machine user's ~/.profile. On a dev box
 * that can be slow or even block: pyenv's `rehash` takes a lock file, and a shell killed by a test
 * (cancel, SIGKILL) leaves it stale, stalling every later login shell for 60 s. Workers under test
 * get the workspace as HOME so their shells start from a clean profile.
 */
function hermeticEnv(workspace: string): NodeJS.ProcessEnv {
  return { HOME: workspace };
}

/** Spawns a worker and wires event capture, without sending `initialize`. */
export function launchWorker(
  options: Pick<StartOptions, "env" | "autoAck" | "workspace">,
  live: Set<WorkerClient> = new Set(),
): Omit<WorkerUnderTest, "init"> {
  const events: SessionEventParams[] = [];
  const stderr: string[] = [];
  const waiters: (() => void)[] = [];
  const client = spawnWorker({
    command: [process.execPath, ...WORKER_ARGS],
    cwd: options.workspace,
    env: { ...process.env, ...hermeticEnv(options.workspace), FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn", STARLING_CRASH_AT: "", ...options.env },
    stderr: (line) => stderr.push(line),
  });
  guardDestroyedStdin(client);
  live.add(client);
  void client.exited.then(() => {
    live.delete(client);
    for (const w of waiters.splice(0)) w();
  });
  client.onEvent((e) => {
    events.push(e);
    if (options.autoAck !== false && (DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) {
      void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    }
    for (const w of waiters.splice(0)) w();
  });
  const matches = (type: string, predicate?: (e: never) => boolean) => (p: SessionEventParams) =>
    p.event.type === type && (!predicate || predicate(p.event as never));
  return {
    client,
    events,
    stderr,
    mark: () => events.length,
    exited: (timeoutMs = 10_000) =>
      Promise.race([
        // never gives up before waitLimit allows (only detects a worker that does not exit)
        client.exited,
        delay(waitLimit(timeoutMs)).then(() => {
          throw new Error(`worker did not exit within ${timeoutMs} ms`);
        }),
      ]),
    eventsOf: (type) => events.filter((p) => p.event.type === type).map((p) => ({ ...p.event, seq: p.seq })) as never,
    waitForEvent: (type, predicate, timeout) => {
      const opts: WaitOptions = typeof timeout === "number" ? { timeoutMs: timeout } : (timeout ?? {});
      const timeoutMs = waitLimit(opts.timeoutMs ?? 15_000);
      const since = opts.since ?? 0;
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.slice(since).find(matches(type, predicate as never));
          if (hit) {
            clearTimeout(timer);
            resolve({ ...hit.event, seq: hit.seq } as never);
            return true;
          }
          if (client.exitStatus) {
            clearTimeout(timer);
            reject(new Error(`worker exited (${JSON.stringify(client.exitStatus)}) while waiting for ${type}; saw: ${describe(events)}\nstderr: ${stderr.slice(-5).join("\n")}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${type}; saw: ${describe(events)}\nstderr: ${stderr.slice(-5).join("\n")}`)),
          timeoutMs,
        );
        const loop = () => {
          if (!check()) waiters.push(loop);
        };
        loop();
      });
    },
  };
}

/**
 * vscode-jsonrpc's `sendRequest` writes from inside an `async` Promise executor and rethrows a write
 * error there, so a request written in the moment the worker dies (an auto-ack racing a crash point
 * or a kill) becomes an *unhandled rejection* in the host process — EPIPE, or "write after destroyed"
 * once Node has destroyed the child's stdin at exit. (Reported: WorkerClient should guard its writer.)
 * Here a failed or impossible write is reported to the library as done; the request then fails
 * through WorkerClient's own exit race (WorkerGoneError), which is what a caller should see.
 */
function guardDestroyedStdin(client: WorkerClient): void {
  const stdin = client.child.stdin;
  if (!stdin) return;
  stdin.on("error", () => undefined);
  const write = stdin.write.bind(stdin) as (...args: unknown[]) => boolean;
  stdin.write = ((...args: unknown[]) => {
    const at = args.findIndex((a) => typeof a === "function");
    const cb = at >= 0 ? (args[at] as (err?: Error | null) => void) : undefined;
    if (stdin.destroyed || stdin.writableEnded) {
      cb?.(null);
      return false;
    }
    if (cb) args[at] = () => cb(null);
    return write(...args);
  }) as typeof stdin.write;
}

function describe(events: SessionEventParams[]): string {
  return events.map((e) => `${e.seq}:${e.event.type}`).join(", ");
}

export async function startWorker(options: StartOptions, live?: Set<WorkerClient>): Promise<WorkerUnderTest> {
  const w = launchWorker(options, live);
  const init = await w.client.initialize(initParams(options));
  return { ...w, init };
}

/** One test's world: a fake model, a workspace, and the workers started in it (all cleaned up when the test ends). */
export interface TestEnv {
  fake: FakeOpenAI;
  dir: string;
  /** Starts and initializes a worker on this workspace and fake model. */
  start(options?: Partial<StartOptions>): Promise<WorkerUnderTest>;
  /** Spawns a worker without initializing it. */
  launch(options?: Partial<StartOptions>): Omit<WorkerUnderTest, "init">;
  /** `initialize` params for this workspace and model. */
  initParams(options?: Partial<StartOptions>): InitializeParams;
}

export async function newEnv(
  ctx: { onTestFinished: (fn: () => Promise<void> | void) => void },
  fakeOptions: FakeOpenAIOptions = {},
): Promise<TestEnv> {
  const fake = await startFakeOpenAI({ apiKey: "test-key", ...fakeOptions });
  const ws = tempWorkspace();
  const live = new Set<WorkerClient>();
  ctx.onTestFinished(async () => {
    await Promise.all(
      [...live].map(async (c) => {
        c.kill("SIGKILL");
        await Promise.race([c.exited, delay(2000)]);
      }),
    );
    await fake.close();
    ws.cleanup();
  });
  const full = (o: Partial<StartOptions> = {}): StartOptions => ({ workspace: ws.dir, modelUrl: fake.url, ...o });
  return {
    fake,
    dir: ws.dir,
    start: (o) => startWorker(full(o), live),
    launch: (o) => launchWorker(full(o), live),
    initParams: (o) => initParams(full(o)),
  };
}

export function userMessage(messageId: string, text: string) {
  return { messageId, kind: "user" as const, message: { role: "user" as const, content: [{ type: "text" as const, text }] } };
}

/** The `live_state` view, typed. */
export async function liveState(client: WorkerClient): Promise<LiveState> {
  const view = await client.query({ view: "live_state" });
  if (view.view !== "live_state") throw new Error(`unexpected view ${view.view}`);
  return view;
}

/** The whole transcript (`all`: the full log; `current`: what the model sees now), paging through it. */
export async function transcript(client: WorkerClient, source: "all" | "current" = "all"): Promise<TranscriptMessage[]> {
  const out: TranscriptMessage[] = [];
  for (let offset = 0; ; ) {
    const page = await client.query({ view: "transcript_page", source, offset, limit: 500 });
    if (page.view !== "transcript_page") throw new Error(`unexpected view ${page.view}`);
    out.push(...page.messages);
    offset += page.messages.length;
    if (page.messages.length === 0 || offset >= page.total) return out;
  }
}

export interface ToolPairing {
  calls: { id: string; name: string; arguments: string }[];
  results: { callId: string; name: string; content: string; isError: boolean; synthetic?: string }[];
}

/** Every tool call paired with exactly one result (and no result without a call), or a description of what is not. */
export function pairingProblems(messages: readonly TranscriptMessage[]): string[] {
  const { calls, results } = toolItems(messages);
  const problems: string[] = [];
  const callIds = new Set<string>();
  for (const c of calls) {
    if (callIds.has(c.id)) problems.push(`call id ${c.id} used twice`);
    callIds.add(c.id);
    const n = results.filter((r) => r.callId === c.id).length;
    if (n !== 1) problems.push(`call ${c.id} (${c.name}) has ${n} results`);
  }
  for (const r of results) if (!callIds.has(r.callId)) problems.push(`result for unknown call ${r.callId}`);
  return problems;
}

export function toolItems(messages: readonly TranscriptMessage[]): ToolPairing {
  const calls: ToolPairing["calls"] = [];
  const results: ToolPairing["results"] = [];
  for (const m of messages) {
    for (const item of m.content) {
      if (item.type === "tool_call") calls.push({ id: item.id, name: item.name, arguments: item.arguments });
      if (item.type === "tool_result") results.push(item);
    }
  }
  return { calls, results };
}

export function userMessageIds(messages: readonly TranscriptMessage[]): string[] {
  return messages.filter((m) => m.role === "user" && m.messageId !== undefined).map((m) => m.messageId!);
}

/** `true` once `pid` no longer runs. A zombie counts as gone: it is dead and only waits for init to reap it. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Waits for `check` (never less than `waitLimit` allows). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, stepMs = 20): Promise<void> {
  timeoutMs = waitLimit(timeoutMs);
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(stepMs);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Raw framing, for input a typed client cannot produce.

export interface RawFrameWorker {
  child: ChildProcessWithoutNullStreams;
  /** Writes bytes to the worker's stdin exactly as given. */
  writeRaw(text: string): void;
  /** Writes one correctly framed message. */
  send(message: unknown): void;
  /** Resolves with the next decoded message from stdout matching the predicate. */
  next(predicate?: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  received: Record<string, unknown>[];
  /** The worker's log lines (pino JSON on stderr) so far. */
  stderrLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** A raw worker on a new test env, initialized with request id 1 (it is closed when the test ends). */
export async function initializedRawWorker(ctx: { onTestFinished: (fn: () => Promise<void> | void) => void }, env: NodeJS.ProcessEnv = {}): Promise<RawFrameWorker> {
  const { dir, initParams } = await newEnv(ctx);
  const raw = rawWorker(dir, env);
  ctx.onTestFinished(() => raw.close());
  raw.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: initParams() });
  await raw.next((m) => m["id"] === 1);
  return raw;
}

/** `args`: Node's arguments that start the worker (WORKER_MAIN for a worker that must take other V8 flags: the snapshot refuses them). */
export function rawWorker(workspace: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = WORKER_ARGS): RawFrameWorker {
  const child = spawn(process.execPath, [...args], {
    cwd: workspace,
    env: { ...process.env, ...hermeticEnv(workspace), STARLING_LOG_LEVEL: "warn", STARLING_CRASH_AT: "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (text: string) => stderr.push(text));
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buffer = Buffer.alloc(0);
  child.stdout.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const headerEnd = buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) break;
      const header = buffer.subarray(0, headerEnd).toString("ascii");
      const length = Number(/Content-Length:\s*(\d+)/i.exec(header)?.[1]);
      if (buffer.length < headerEnd + 4 + length) break;
      const body = buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8");
      buffer = buffer.subarray(headerEnd + 4 + length);
      received.push(JSON.parse(body) as Record<string, unknown>);
    }
    for (const w of waiters.splice(0)) w();
  });
  let consumed = 0;
  return {
    child,
    received,
    stderrLines: () => stderr.join("").split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>),
    writeRaw: (text) => void child.stdin.write(text),
    send(message) {
      const body = Buffer.from(JSON.stringify(message), "utf8");
      child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      child.stdin.write(body);
    },
    next(predicate = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message; got ${JSON.stringify(received)}`)), waitLimit(timeoutMs));
        const check = () => {
          for (; consumed < received.length; consumed++) {
            const m = received[consumed]!;
            if (predicate(m)) {
              consumed++;
              clearTimeout(timer);
              resolve(m);
              return;
            }
          }
          waiters.push(check);
        };
        check();
      });
    },
    async close() {
      child.stdin.end();
      const exited = new Promise((r) => child.once("exit", r));
      if (child.exitCode === null && child.signalCode === null) {
        await Promise.race([exited, delay(3000)]);
      }
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
