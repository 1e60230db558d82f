// What an idle shutdown costs the next message of a long conversation: one session is taken through N turns,
// then, K times, its worker is shut down and a new one (as the host starts it, on a spare already waiting, or
// cold) opens the same database and answers the next message; beside it, the same message's turn on a worker
// that stayed up. Wall times on this machine (run it quiet), p50 over K.
//   npx tsx test/bench/probe-resume.ts [turns=200] [k=10]
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams, type WorkerClient } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv } from "./proc.js";
import { percentile } from "./stats.js";

const [turns = 200, k = 10] = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer to that message" }) });
const ws = tempWorkspace("probe-resume-");
const init = initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: "resume.foreground" });
let counter = 0;

interface Worker {
  client: WorkerClient;
  /** enqueue → turn_completed acknowledged, in ms. */
  turn(): Promise<number>;
}

function spawn(): Worker {
  const client = spawnWorker({
    command: [process.execPath, ...bundledWorkerArgs()],
    cwd: ws.dir,
    env: childEnv({ ...WORKER_MALLOC_ENV, HOME: ws.dir, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }),
    stderr: (line) => process.stderr.write(`${line}\n`),
  });
  let done: (() => void) | null = null;
  client.onEvent((e: SessionEventParams) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).then(() => e.event.type === "turn_completed" && done?.(), () => undefined);
    if (e.event.type === "turn_failed") throw new Error(JSON.stringify(e.event));
  });
  return {
    client,
    async turn() {
      const completed = new Promise<void>((res) => (done = res));
      const t = performance.now();
      await client.enqueue(userMessage(`m-${++counter}`, `message number ${counter}, a short question about the work so far`));
      await completed;
      return performance.now() - t;
    },
  };
}

async function close(w: Worker): Promise<void> {
  await w.client.shutdown().catch(() => undefined);
  await w.client.exited;
}

const first = spawn();
await first.client.initialize(init);
for (let i = 0; i < turns; i++) await first.turn();
const live: number[] = [];
for (let i = 0; i < k; i++) live.push(await first.turn());
await close(first);

const resumed = { spare: { init: [] as number[], turn: [] as number[] }, cold: { init: [] as number[], turn: [] as number[] } };
for (let i = 0; i < k; i++) {
  for (const kind of ["spare", "cold"] as const) {
    const t0 = performance.now();
    const w = spawn();
    if (kind === "spare") await sleep(500); // a spare is spawned long before it is used
    const t1 = performance.now();
    await w.client.initialize(init);
    resumed[kind].init.push(performance.now() - (kind === "spare" ? t1 : t0));
    resumed[kind].turn.push(await w.turn());
    await close(w);
  }
}
const p50 = (xs: number[]) => percentile(xs, 50).toFixed(1);
console.log(`session of ${turns + k} turns before the resumes; ${k} resumes each; p50 ms`);
console.log(`live worker: turn ${p50(live)}`);
for (const kind of ["spare", "cold"] as const) {
  const { init: i, turn: t } = resumed[kind];
  console.log(`${kind}: ${kind === "spare" ? "initialize" : "spawn → initialize"} ${p50(i)}, first turn ${p50(t)}, together ${p50(i.map((x, n) => x + t[n]!))}`);
}
await fake.close();
ws.cleanup();
process.exit(0);
