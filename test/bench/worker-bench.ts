// Part A: the worker on its own, each number beside a floor measured in the same run.
import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  COORDINATE_ACTIONS,
  DURABLE_EVENT_TYPES,
  PROTOCOL_VERSION,
  secretDigest,
  spawnWorker,
  type InitializeParams,
  type SessionEventParams,
  type WorkerClient,
} from "@starling/protocol";
import { modelConfig, tempWorkspace, userMessage, WORKER_MAIN } from "../conformance/harness.js";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { ECHO_SERVER, spawnRaw } from "./jsonrpc.js";
import { childEnv, faultsOf, memoryOf, nodeOutput, sleep, timeNode, withTimeout, type Memory } from "./proc.js";
import { now, summarize, type Summary } from "./stats.js";

export interface WorkerBenchOptions {
  spawnRuns: number;
  rpcRequests: number;
  turns: number;
  log: (line: string) => void;
}

export interface WorkerBenchResult {
  spawnReady: {
    /** spawn → `initialize` answered (fresh workspace, new LevelDB). */
    worker: Summary;
    /** spawn → first JSON-RPC answer (a request sent before `initialize`): process up, protocol loaded. */
    workerListening: Summary;
    /** `initialize` → answered on a worker spawned 500 ms before (what a session sees with a warm spare). */
    warmSpare: Summary;
    /** `node -e 0` spawn → exit. */
    floor: Summary;
    /** `node -e 0` with the NODE_EXTRA_CA_CERTS the bench inherited (null when it is not set). */
    floorWithExtraCaCerts: Summary | null;
    /** Minor page faults of the cold worker by `initialize` answered (the shipped start). */
    coldFaults: Summary;
    /** CPU µs per minor page fault on this machine: a process touching 64 MB of fresh memory page by page (median of 3). */
    faultCostUs: number;
    /** What was measured above: Node's arguments the host starts a worker with (the start-up snapshot or the esbuild bundle while current). */
    main: string;
    /** The same three figures for the unbundled packages/worker/dist/main.js (null when `main` is that file). */
    unbundled: { worker: Summary; workerListening: Summary; warmSpare: Summary } | null;
  };
  rpc: { worker: Summary; workerRawClient: Summary; floor: Summary; responseBytes: number };
  turn: { worker: Summary; enqueueAck: Summary; floor: Summary };
  memory: {
    /** A bare idle `node` process (the floor for RSS). */
    bareNode: Memory | null;
    /** The unbundled dist/main.js 300 ms after `initialize` (null when that is what the host starts). */
    idle: Memory | null;
    /** What the host starts (start-up snapshot or bundle), 300 ms after `initialize`; the turn figures below are of the same worker. */
    idleBundled: Memory | null;
    /** The same worker after the warm-up turns (10: "memory per active conversation"). */
    afterWarmUp: Memory | null;
    warmUpTurns: number;
    /** The same worker after all turns. */
    afterTurns: Memory | null;
    turns: number;
    /**
     * ACTIVE_CONVERSATIONS workers alive at once (ten active chats), each after warmUpTurns turns taken in
     * rounds, 300 ms after the last: the mean of their Pss and RssAnon ("memory per active conversation").
     */
    active: { workers: number; pssKb: number; anonKb: number } | null;
  };
}

/** How many workers run side by side for "memory per active conversation" (issue #8: "ten active chats"). */
export const ACTIVE_CONVERSATIONS = 10;

/** The worker's environment: the key the fake model expects, quiet logs, nothing from the bench's own loader. */
const WORKER_ENV = childEnv({ ...WORKER_MALLOC_ENV, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }); // as the host starts them

export async function runWorkerBench(opts: WorkerBenchOptions): Promise<WorkerBenchResult> {
  const fake = await startFakeOpenAI({ responder: () => ({ text: "ok" }) });
  try {
    opts.log(`spawn→ready: ${opts.spawnRuns} worker starts interleaved with ${opts.spawnRuns} × node -e 0`);
    const spawnReady = await benchSpawn(fake, opts.spawnRuns);
    opts.log(`JSON-RPC round trip: ${opts.rpcRequests} × session/query live_state vs echo server`);
    const rpc = await benchRpc(fake, opts.rpcRequests);
    opts.log(`turns: ${opts.turns} × enqueue→turn_completed vs direct fetch to the fake model`);
    const { turn, memory } = await benchTurns(fake, opts.turns);
    opts.log(`memory per active conversation: ${ACTIVE_CONVERSATIONS} workers side by side, ${memory.warmUpTurns} turns each`);
    memory.active = await benchActive(fake, ACTIVE_CONVERSATIONS, memory.warmUpTurns);
    return { spawnReady, rpc, turn, memory };
  } finally {
    await fake.close();
  }
}

const WARM_SPARE_WAIT_MS = 500;

/**
 * Prints the CPU µs one minor page fault costs here: 64 MB of fresh memory touched a byte per 4 kB page. Process
 * starts are mostly page faults; on some VMs a fault costs 20× what it does on bare metal (PERFORMANCE "Session 27").
 */
const FAULT_COST_SCRIPT =
  "const n=64*1024*1024,b=Buffer.allocUnsafeSlow(n),u=process.cpuUsage();for(let i=0;i<n;i+=4096)b[i]=1;const c=process.cpuUsage(u);console.log(((c.user+c.system)/(n/4096)).toFixed(2))";

/**
 * `initialize` as the host sends it for a Telegram conversation with the default config (launch.ts): every
 * host action, a subprocess tool sandbox with the shared folder, and the digest of the withheld bot token.
 * A session's first `initialize` builds these tools and the redactor, so the bench times them as a
 * conversation sees them (before session 10 it sent none: ~10 ms of worker CPU less than real).
 */
function hostLikeInit(workspace: string, fake: FakeOpenAI): InitializeParams {
  const digest = secretDigest("TELEGRAM_BOT_TOKEN", "7000000001:AAbenchBENCHbenchBENCHbenchBENCHbe");
  return {
    protocolVersion: PROTOCOL_VERSION,
    sessionId: "bench.foreground",
    sessionType: "foreground",
    workspace,
    model: modelConfig(fake.url),
    hostActions: Object.keys(COORDINATE_ACTIONS),
    sandbox: { mode: "subprocess", bubblewrapBinary: "bwrap", sharedDir: join(workspace, "..", "rundir-shared"), softwareMountPath: "/opt", network: true, pidNamespace: true, env: {}, limits: {}, hiddenPaths: [] },
    ...(digest ? { secretDigests: [digest] } : {}),
  };
}

/** The worker the host would start (bundledWorkerArgs), initialized, acknowledging its durable events as the host does. */
async function start(workspace: string, fake: FakeOpenAI): Promise<{ client: WorkerClient }> {
  const client = spawnWorker({ command: [process.execPath, ...bundledWorkerArgs()], cwd: workspace, env: WORKER_ENV, stderr: "ignore" });
  client.onEvent((e) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
  });
  await withTimeout(
    client.initialize(hostLikeInit(workspace, fake)),
    15_000,
    "worker initialize",
  );
  return { client };
}

async function benchSpawn(fake: FakeOpenAI, runs: number): Promise<WorkerBenchResult["spawnReady"]> {
  const shipped = bundledWorkerArgs();
  const mains = shipped.join(" ") === WORKER_MAIN ? [shipped] : [shipped, [WORKER_MAIN]];
  const times = mains.map(() => ({ worker: [] as number[], listening: [] as number[], warm: [] as number[], faults: [] as number[] }));
  const floor: number[] = [];
  const floorNode = () => timeNode(["-e", "0"]);
  // One untimed start of each warms the page cache.
  await floorNode();
  for (const file of mains) await startAndStop(fake, file);
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first so neither side always follows the other's teardown.
    if (i % 2 === 1) floor.push(await floorNode());
    for (const [k, file] of (i % 2 ? [...mains].reverse() : mains).map((f) => [mains.indexOf(f), f] as const)) {
      const t = await startAndStop(fake, file);
      times[k]!.worker.push(t.ready);
      times[k]!.listening.push(t.listening);
      times[k]!.faults.push(t.faults);
      times[k]!.warm.push((await startAndStop(fake, file, WARM_SPARE_WAIT_MS)).ready);
    }
    if (i % 2 === 0) floor.push(await floorNode());
  }
  const [first, other] = times.map((t) => ({ worker: summarize(t.worker), workerListening: summarize(t.listening), warmSpare: summarize(t.warm) }));
  const caCerts = process.env["NODE_EXTRA_CA_CERTS"];
  let floorWithExtraCaCerts: Summary | null = null;
  if (caCerts) {
    const withCa: number[] = [];
    for (let i = 0; i < 5; i++) withCa.push(await timeNode(["-e", "0"], childEnv({ NODE_EXTRA_CA_CERTS: caCerts })));
    floorWithExtraCaCerts = summarize(withCa);
  }
  const cost: number[] = [];
  for (let i = 0; i < 3; i++) cost.push(Number(await nodeOutput(["-e", FAULT_COST_SCRIPT])));
  return { ...first!, floor: summarize(floor), floorWithExtraCaCerts, coldFaults: summarize(times[0]!.faults), faultCostUs: cost.sort((a, b) => a - b)[1]!, main: shipped.join(" "), unbundled: other ?? null };
}

/**
 * Spawns a worker on a fresh workspace: the same calls as the conformance harness's startWorker
 * (spawnWorker + initialize), plus a probe request sent first so the time splits into
 * "process up and speaking JSON-RPC" and "initialize" (lazy core import, LevelDB open, load).
 */
async function startAndStop(fake: FakeOpenAI, main: string[], warmMs = 0, idle?: (m: Memory | null) => void): Promise<{ listening: number; ready: number; faults: number }> {
  const ws = tempWorkspace("starling-bench-spawn-");
  try {
    let t0 = now();
    const client = spawnWorker({ command: [process.execPath, ...main], cwd: ws.dir, env: WORKER_ENV, stderr: "ignore" });
    let listening = Number.NaN;
    const probe = client.raw("session/query", { view: "live_state" }).then(
      () => (listening = now() - t0),
      () => (listening = now() - t0), // NotInitialized is the expected answer
    );
    if (warmMs > 0) {
      // A warm spare: the process has started and loaded core; only `initialize` is timed.
      await probe;
      await new Promise((r) => setTimeout(r, warmMs));
      t0 = now();
    }
    await withTimeout(
      client.initialize(hostLikeInit(ws.dir, fake)),
      15_000,
      "worker initialize",
    );
    const ready = now() - t0;
    const faults = client.pid === undefined ? Number.NaN : faultsOf(client.pid).minor;
    if (idle) {
      await sleep(300);
      idle(memoryOf(client.pid));
    }
    await probe;
    await client.close();
    return { listening, ready, faults };
  } finally {
    ws.cleanup();
  }
}

async function benchRpc(fake: FakeOpenAI, requests: number): Promise<WorkerBenchResult["rpc"]> {
  const wsA = tempWorkspace("starling-bench-rpc-");
  const wsB = tempWorkspace("starling-bench-rpc-raw-");
  const w = await start(wsA.dir, fake);
  // The same worker binary behind a bare vscode-jsonrpc client: separates client-side cost (zod parse) from the worker's.
  const raw = spawnRaw([WORKER_MAIN], wsB.dir, WORKER_ENV);
  const echo = spawnRaw([ECHO_SERVER]);
  try {
    await raw.connection.sendRequest("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: "bench-raw.foreground",
      sessionType: "foreground",
      workspace: wsB.dir,
      model: modelConfig(fake.url),
    });
    const params = { view: "live_state" as const };
    const sample = await w.client.query(params);
    // The echo server answers with a result of the same shape and size as the worker's.
    await echo.connection.sendRequest("bench/setReply", sample);
    const responseBytes = Buffer.byteLength(JSON.stringify(sample));

    const viaClient = () => w.client.query(params);
    const viaRaw = () => raw.connection.sendRequest("session/query", params);
    const viaEcho = () => echo.connection.sendRequest("session/query", params);
    const warm = Math.min(200, requests);
    for (let i = 0; i < warm; i++) {
      await viaClient();
      await viaRaw();
      await viaEcho();
    }
    const worker: number[] = [];
    const workerRaw: number[] = [];
    const floor: number[] = [];
    // Interleave in blocks of 50 so drift (GC, frequency scaling, noise) hits all three alike.
    const block = 50;
    for (let done = 0; done < requests; done += block) {
      const n = Math.min(block, requests - done);
      await timeEach(viaEcho, n, floor);
      await timeEach(viaClient, n, worker);
      await timeEach(viaRaw, n, workerRaw);
    }
    return { worker: summarize(worker), workerRawClient: summarize(workerRaw), floor: summarize(floor), responseBytes };
  } finally {
    await w.client.close();
    await raw.close();
    await echo.close();
    wsA.cleanup();
    wsB.cleanup();
  }
}

async function timeEach(fn: () => Promise<unknown>, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await fn();
    into.push(now() - t0);
  }
}

/** Idle memory of the unbundled dist/main.js, 300 ms after `initialize` (null when the host starts that one anyway). */
async function idleUnbundled(fake: FakeOpenAI): Promise<Memory | null> {
  if (bundledWorkerArgs().join(" ") === WORKER_MAIN) return null;
  let memory: Memory | null = null;
  await startAndStop(fake, [WORKER_MAIN], 0, (m) => (memory = m));
  return memory;
}

async function benchTurns(
  fake: FakeOpenAI,
  turns: number,
): Promise<{ turn: WorkerBenchResult["turn"]; memory: WorkerBenchResult["memory"] }> {
  const ws = tempWorkspace("starling-bench-turns-");
  const w = await start(ws.dir, fake);
  try {
    const bareNode = await bareNodeMemory();
    await sleep(300);
    const idle = memoryOf(w.client.pid);
    const completions = completionCounter(w);
    const worker: number[] = [];
    const enqueueAck: number[] = [];
    const floor: number[] = [];
    const firstRequest = fake.requests.length;
    const warm = Math.min(10, turns);
    let after10: Memory | null = null;
    for (let i = 0; i < warm + turns; i++) {
      const t0 = now();
      const completed = completions.next();
      await w.client.enqueue(userMessage(`bench-${i}`, `hello ${i}`));
      const t1 = now();
      await withTimeout(completed, 15_000, `turn ${i} to complete`);
      const t2 = now();
      // Floor: the same request body the worker just sent, straight to the same fake model.
      const body = fake.requests[fake.requests.length - 1]?.body ?? {};
      const f0 = now();
      await directModelCall(fake.url, body);
      const f1 = now();
      if (i === warm - 1) {
        await sleep(300);
        after10 = memoryOf(w.client.pid);
      }
      if (i < warm) continue;
      worker.push(t2 - t0);
      enqueueAck.push(t1 - t0);
      floor.push(f1 - f0);
    }
    const modelCalls = fake.requests.length - firstRequest;
    if (modelCalls !== 2 * (warm + turns)) throw new Error(`expected one model call per turn, saw ${modelCalls / 2} per ${warm + turns} turns`);
    const afterTurns = memoryOf(w.client.pid);
    return {
      turn: { worker: summarize(worker), enqueueAck: summarize(enqueueAck), floor: summarize(floor) },
      memory: { bareNode, idle: await idleUnbundled(fake), idleBundled: idle, afterWarmUp: after10, warmUpTurns: warm, afterTurns, turns: warm + turns, active: null },
    };
  } finally {
    await w.client.close();
    ws.cleanup();
  }
}

/**
 * `workers` workers the host would start, alive together (as `workers` active chats are), each given `turns`
 * turns in rounds (every worker's turn r at once, then r + 1), then 300 ms of rest: the mean Pss and RssAnon.
 * Pss divides the shared pages (the `node` binary, ~33 MB) among the processes mapping them, so a worker
 * measured alone carries most of them; with ten workers each carries a tenth, as in a real host.
 */
async function benchActive(fake: FakeOpenAI, workers: number, turns: number): Promise<WorkerBenchResult["memory"]["active"]> {
  const spaces = Array.from({ length: workers }, () => tempWorkspace("starling-bench-active-"));
  const started: { client: WorkerClient }[] = [];
  try {
    for (const ws of spaces) started.push(await start(ws.dir, fake));
    const counters = started.map((w) => completionCounter(w));
    for (let r = 0; r < turns; r++) {
      await Promise.all(
        started.map(async (w, i) => {
          const completed = counters[i]!.next();
          await w.client.enqueue(userMessage(`active-${i}-${r}`, `hello ${r}`));
          await withTimeout(completed, 15_000, `worker ${i} turn ${r} to complete`);
        }),
      );
    }
    await sleep(300);
    const memories = started.map((w) => memoryOf(w.client.pid));
    if (memories.some((m) => m?.pssKb == null)) return null;
    const mean = (pick: (m: Memory) => number) => Math.round(memories.reduce((sum, m) => sum + pick(m!), 0) / memories.length);
    return { workers, pssKb: mean((m) => m.pssKb!), anonKb: mean((m) => m.anonKb) };
  } finally {
    await Promise.all(started.map((w) => w.client.close().catch(() => undefined)));
    for (const ws of spaces) ws.cleanup();
  }
}

/** Resolves, per call to `next()`, on the next `turn_completed` event (failures reject). */
function completionCounter(w: { client: WorkerClient }): { next(): Promise<void> } {
  let pending: { resolve: () => void; reject: (e: Error) => void } | null = null;
  w.client.onEvent((p: SessionEventParams) => {
    if (!pending) return;
    const type = p.event.type;
    if (type === "turn_completed") pending.resolve();
    else if (type === "turn_failed" || type === "turn_cancelled") pending.reject(new Error(`turn ended with ${type}: ${JSON.stringify(p.event)}`));
    else return;
    pending = null;
  });
  return {
    next: () => new Promise<void>((resolve, reject) => (pending = { resolve, reject })),
  };
}

async function directModelCall(url: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer test-key" },
    body: JSON.stringify(body),
  });
  await response.text();
  if (!response.ok) throw new Error(`direct model call: HTTP ${response.status}`);
}

/** Memory of an idle bare `node` process, 300 ms after start. */
async function bareNodeMemory(): Promise<Memory | null> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"], { env: childEnv(), stdio: "ignore" });
  try {
    await sleep(300);
    return memoryOf(child.pid);
  } finally {
    child.kill("SIGKILL");
  }
}
