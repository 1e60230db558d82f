// Does a worker's memory grow with turns, and with what? Runs one worker (what the host starts,
// plus --heapsnapshot-signal) through N turns against the fake model; at each checkpoint prints
// RssAnon / Pss and writes a V8 heap snapshot (SIGUSR2), then diffs the first and last snapshot by
// constructor (count and self size) so live growth shows by name.
//   npx tsx test/bench/worker-growth.ts [checkpoints=10,110,210] [-- node args... worker]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { workerCommand } from "../../packages/host/dist/worker-path.js";
import { childEnv, memoryOf, sleep } from "./proc.js";

const sep = process.argv.indexOf("--");
const checkpoints = (process.argv.slice(2, sep > 0 ? sep : undefined)[0] ?? "10,110,210").split(",").map(Number);
const dir = mkdtempSync(join(tmpdir(), "worker-growth-"));
const base: [string, ...string[]] = sep > 0 ? [process.execPath, ...process.argv.slice(sep + 1)] : workerCommand(undefined);
// GROWTH_MEMORY_ONLY=1: memory figures only (a heap snapshot's full GC and its own allocations change what follows).
const memoryOnly = process.env["GROWTH_MEMORY_ONLY"] === "1";
const command: [string, ...string[]] = memoryOnly ? base : [base[0], `--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${dir}`, ...base.slice(1)];

const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer" }) });
const ws = tempWorkspace("worker-growth-ws-");
const client = spawnWorker({ command, cwd: ws.dir, env: childEnv({ HOME: ws.dir, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }), stderr: (l) => process.stderr.write(l + "\n") });
let done: (() => void) | null = null;
client.onEvent((e: SessionEventParams) => {
  if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
  if (e.event.type === "turn_completed") done?.();
  if (e.event.type === "turn_failed") throw new Error(JSON.stringify(e.event));
});
await client.initialize(initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: "growth.foreground" }));
const pid = client.pid!;
const snapshots: string[] = [];
const mb = (kb: number | null | undefined) => ((kb ?? Number.NaN) / 1024).toFixed(1);
for (let i = 1; i <= Math.max(...checkpoints); i++) {
  const completed = new Promise<void>((res) => (done = res));
  await client.enqueue(userMessage(`m-${i}`, `hello number ${i}`));
  await completed;
  if (!checkpoints.includes(i)) continue;
  await sleep(300);
  const before = memoryOf(pid);
  if (memoryOnly) {
    console.log(`after ${i} turns: RssAnon ${mb(before?.anonKb)} MB, Pss ${mb(before?.pssKb)} MB; ${anonByKind(pid)}`);
    if (process.env["GROWTH_SIGNAL"]) process.kill(pid, "SIGUSR2"); // for a worker started with a -r preload that reports on it
    await sleep(200);
    continue;
  }
  const count = readdirSync(dir).length;
  process.kill(pid, "SIGUSR2");
  while (readdirSync(dir).length === count) await sleep(100);
  const file = readdirSync(dir).sort().at(-1)!;
  // Written in place: complete once it parses as JSON.
  while (!complete(join(dir, file))) await sleep(200);
  snapshots.push(join(dir, file));
  const after = memoryOf(pid);
  console.log(`after ${i} turns: RssAnon ${mb(before?.anonKb)} MB, Pss ${mb(before?.pssKb)} MB; after the snapshot's full GC RssAnon ${mb(after?.anonKb)} MB; live heap ${(liveBytes(join(dir, file)) / 1048576).toFixed(2)} MB`);
}
// GROWTH_IDLE_MS: how memory looks after the worker sat idle that long (V8's memory reducer, glibc trimming).
const idleMs = Number(process.env["GROWTH_IDLE_MS"] ?? 0);
if (idleMs > 0) {
  const cpu0 = cpuMs(pid);
  await sleep(idleMs);
  console.log(`then idle ${idleMs} ms (worker CPU meanwhile ${cpuMs(pid) - cpu0} ms): RssAnon ${mb(memoryOf(pid)?.anonKb)} MB; ${anonByKind(pid)}`);
  if (process.env["GROWTH_SIGNAL"]) process.kill(pid, "SIGUSR2");
  await sleep(300);
}
await client.shutdown().catch(() => undefined);
await client.exited;
ws.cleanup();
await fake.close();
if (snapshots.length > 1) diff(snapshots[0]!, snapshots.at(-1)!);
rmSync(dir, { recursive: true, force: true });

/** Private memory by kind: malloc's [heap], V8's 256 kB heap pages, other anonymous mappings. */
function anonByKind(pid: number): string {
  const sums = { malloc: 0, v8pages: 0, other: 0 };
  let kind: keyof typeof sums = "other";
  let region = "";
  const others: [string, number][] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) region = `${m[1]}-${m[2]} (${(parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 1024} kB)`;
    if (m) kind = m[3] === "[heap]" ? "malloc" : !m[3] && parseInt(m[2]!, 16) - parseInt(m[1]!, 16) === 262144 ? "v8pages" : "other";
    const a = /^Anonymous:\s+(\d+)/.exec(line);
    if (a) sums[kind] += Number(a[1]);
    if (a && kind === "other" && Number(a[1]) >= 1024) others.push([region, Number(a[1])]);
  }
  if (process.env["GROWTH_REGIONS"]) console.log(others.map(([r, kb]) => `  ${r}: ${kb} kB`).join("\n"));
  return `malloc [heap] ${mb(sums.malloc)}, V8 256 kB pages ${mb(sums.v8pages)}, other ${mb(sums.other)} MB`;
}

/** utime + stime of a process in ms (/proc/<pid>/stat, 100 ticks per second). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function complete(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
}

type Tally = Map<string, { count: number; size: number }>;
function tally(file: string): Tally {
  const snap = JSON.parse(readFileSync(file, "utf8")) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const out: Tally = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + iType]!]!;
    const name = type === "object" || type === "closure" || type === "array" || type === "code" || type === "hidden" ? `${type}:${snap.strings[snap.nodes[i + iName]!]!.slice(0, 70)}` : type;
    const t = out.get(name) ?? { count: 0, size: 0 };
    t.count++;
    t.size += snap.nodes[i + iSize]!;
    out.set(name, t);
  }
  return out;
}
function liveBytes(file: string): number {
  let total = 0;
  for (const t of tally(file).values()) total += t.size;
  return total;
}
function diff(a: string, b: string): void {
  const [ta, tb] = [tally(a), tally(b)];
  const rows = [...tb].map(([k, v]) => ({ k, dc: v.count - (ta.get(k)?.count ?? 0), ds: v.size - (ta.get(k)?.size ?? 0) })).sort((x, y) => y.ds - x.ds).slice(0, 25);
  console.log(`growth from checkpoint ${checkpoints[0]} to ${checkpoints.at(-1)} by constructor (self size):`);
  for (const r of rows) console.log(`  ${(r.ds / 1024).toFixed(1).padStart(8)} kB ${String(r.dc).padStart(7)} × ${r.k}`);
}
