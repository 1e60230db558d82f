// A worker's private memory by mapping and by V8 heap space. Starts the shipped worker as the host does
// (bundledWorkerArgs: snapshot blob and V8 flags, WORKER_MALLOC_ENV), initializes, optionally runs turns
// against the fake model, waits, then prints RssAnon / Pss, anonymous memory by kind (V8's 256 kB pages,
// malloc's brk heap, other regions) and V8's heap spaces (a `-r` preload answers SIGUSR2 on stderr).
//   npx tsx test/bench/smaps-idle.ts [turns=0] [-- <node args> <script>]
//   IDLE_MS=<ms> (1500) before measuring; SMAPS_REGIONS=1 lists the other anonymous regions over 200 kB.
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv, memoryOf, sleep } from "./proc.js";
import { anonBreakdown, formatHeapStats, heapStatsPreload, readSmaps } from "./smaps.js";

const sep = process.argv.indexOf("--");
const turns = Number(process.argv.slice(2, sep > 0 ? sep : undefined)[0] ?? 0);
const args = sep > 0 ? process.argv.slice(sep + 1) : bundledWorkerArgs();
const preload = heapStatsPreload();
// A \`-r\` preload changes how a snapshot worker starts (RssFile +8 MB, V8's young generation unbounded): none there.
const preloaded = !process.env["NO_PRELOAD"] && !args.includes("--snapshot-blob");
const command: [string, ...string[]] = preloaded ? [process.execPath, "-r", preload, ...args] : [process.execPath, ...args];
const env = childEnv({ ...WORKER_MALLOC_ENV, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" });
const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer" }) });
const ws = tempWorkspace("starling-smaps-");
let heapStats: ((line: string) => void) | undefined;
const client = spawnWorker({
  command,
  cwd: ws.dir,
  env: { ...env, HOME: ws.dir },
  stderr: (l) => (l.startsWith("HEAPSTATS ") ? heapStats?.(l.slice(10)) : process.stderr.write(l + "\n")),
});
let done: (() => void) | undefined;
client.onEvent((e: SessionEventParams) => {
  if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
  if (e.event.type === "turn_completed") done?.();
  if (e.event.type === "turn_failed") throw new Error(JSON.stringify(e.event));
});
await client.initialize(initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: "bench.foreground" }));
for (let i = 1; i <= turns; i++) {
  const completed = new Promise<void>((res) => (done = res));
  await client.enqueue(userMessage(`m-${i}`, `hello number ${i}`));
  await completed;
}
await sleep(Number(process.env["IDLE_MS"] ?? 1500));
const pid = client.pid!;

const breakdown = anonBreakdown(readSmaps(pid));
const mem = memoryOf(pid)!;
const mb = (kb: number) => (kb / 1024).toFixed(1);
console.log(`after ${turns} turns: RssAnon ${mb(mem.anonKb)} MB (${mem.anonKb} kB), Pss ${mb(mem.pssKb ?? Number.NaN)} MB, RssFile ${mb(mem.fileKb)} MB`);
console.log(`  V8 256 kB pages: ${breakdown.v8Pages} × 256 kB = ${mb(breakdown.v8PagesKb)} MB`);
console.log(`  malloc brk heap: ${mb(breakdown.brkKb)} MB`);
console.log(`  other anonymous regions > 200 kB: ${breakdown.big.map((r) => `${mb(r.anon)} of ${mb(r.size)}`).join(", ") || "none"} MB`);
console.log(`  everything else: ${mb(breakdown.restKb)} MB`);
if (process.env["SMAPS_REGIONS"]) for (const r of breakdown.big) console.log(`    ${r.anon} kB of ${r.size} kB ${r.name}`);

// Without the preload SIGUSR2 would end the worker.
const stats = !preloaded ? "" : await new Promise<string>((res) => {
  heapStats = res;
  process.kill(pid, "SIGUSR2");
});
if (stats) console.log(`  ${formatHeapStats(stats)}`);
await client.close();
ws.cleanup();
await fake.close();
