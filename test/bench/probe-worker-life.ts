// The CPU of a first message's worker, phase by phase, without the host: K workers one after another,
// each started as the host starts it (snapshot blob, its V8 flags, WORKER_MALLOC_ENV), then
//   start:      spawn → waiting for `initialize` (what a warm spare costs before it is used),
//   initialize: the request → its answer (session folder, LevelDB open),
//   turn 1:     enqueue → turn_completed with its acks (the first turn of a new session),
//   idle:       a pause as long as `--idle=<ms>` (2 000, the flood's idle_shutdown_seconds),
//   exit:       shutdown → exited (LevelDB close, process exit),
// from the worker's /proc/<pid>/schedstat (ns) and, for the whole life, this probe's children CPU.
// Minor page faults per phase from /proc/<pid>/stat (on a VM where a fault is dear, a large share of the CPU).
//   npx tsx test/bench/probe-worker-life.ts [workers=10] [--idle=2000]
// PROBE_PROF=<dir>: V8 CPU profiles too; PROBE_PERF=<dir>: `perf record` of initialize + turn 1 (its
// exit and whole-life figures then include perf's own CPU); PROBE_STRACE=<dir>: `strace -f -c` from initialize to exit
// (PROBE_STRACE_ARGS replaces -c, e.g. '-e trace=%file'). PROBE_NO_MALLOC_ENV=1: without WORKER_MALLOC_ENV.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { DURABLE_EVENT_TYPES, spawnWorker, type InitializeParams, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv, cpu, faultsOf } from "./proc.js";

const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10);
const waitMs = Number(process.argv.find((a) => a.startsWith("--wait="))?.slice(7) ?? 400);
const idleMs = Number(process.argv.find((a) => a.startsWith("--idle="))?.slice(7) ?? 2000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU ms of all of a process's threads so far (schedstat: ns). */
const faults = (pid: number) => faultsOf(pid).minor;
const ms = (pid: number) => readdirSync(`/proc/${pid}/task`).reduce((sum, t) => sum + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1e6, 0);

// PROBE_INIT=<file>: the params of a captured `initialize` frame (what the host really sends: host actions,
// secrets, sandbox), with this probe's workspace, model URL and session id.
const captured = process.env["PROBE_INIT"] ? (JSON.parse(readFileSync(process.env["PROBE_INIT"], "utf8")) as { params: InitializeParams }).params : null;
function initFor(workspace: string, s: number): InitializeParams {
  const own = initParams({ workspace, modelUrl: fake.url, sessionId: `probe${s}.foreground` });
  return captured ? { ...captured, workspace, dataDir: undefined, sessionId: own.sessionId, model: { ...captured.model, url: fake.url } } : own;
}
const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer" }) });
const phases = ["start", "initialize", "turn 1", "idle", "exit", "whole life"] as const;
const sums = new Map<string, number[]>(phases.map((p) => [p, []]));
const faultSums = new Map<string, number[]>(phases.slice(0, 4).map((p) => [p, []]));
// PROBE_PROF=<dir>: V8 CPU profiles of the workers (sampled in wall time: read them on a quiet machine).
const prof = process.env["PROBE_PROF"];
// PROBE_BLOB=<file> with PROBE_BLOB_FLAGS='<flags>': another start-up snapshot, built with those node flags.
const shipped = process.env["PROBE_BLOB"] ? [...(process.env["PROBE_BLOB_FLAGS"] ?? "").split(" ").filter(Boolean), "--snapshot-blob", process.env["PROBE_BLOB"]] : bundledWorkerArgs();
const command = (): [string, ...string[]] => [process.execPath, ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...shipped];
console.log(`worker: ${command().join(" ")}`);
for (let s = 0; s < n; s++) {
  const ws = tempWorkspace("probe-wl-");
  const stderr: string[] = [];
  const before = cpu(process.pid).children;
  const client = spawnWorker({ command: command(), cwd: ws.dir, env: childEnv({ ...(process.env["PROBE_NO_MALLOC_ENV"] ? {} : WORKER_MALLOC_ENV), HOME: ws.dir, FAKE_MODEL_KEY: "test-key" }), stderr: (line) => stderr.push(line) });
  const pid = client.pid!;
  let done: (() => void) | null = null;
  client.onEvent((e: SessionEventParams) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).then(() => e.event.type === "turn_completed" && done?.(), () => undefined);
  });
  // A spare waits for its session; 400 ms is past its start-up (core is loaded while it waits). --wait=0: a cold start.
  await sleep(waitMs);
  const t0 = ms(pid);
  const f0 = faults(pid);
  // PROBE_PERF=<dir>: `perf record` (on-CPU samples, native frames) of initialize and turn 1.
  const perf = process.env["PROBE_PERF"] ? spawn("perf", ["record", "-q", "--no-inherit", "-e", "cpu-clock", "-F", "5000", "-g", "-p", String(pid), "-o", `${process.env["PROBE_PERF"]}/perf.${s}.data`], { stdio: "ignore" }) : null;
  // PROBE_STRACE=<dir>: `strace -f -c` attached from initialize to the exit (syscall counts; CPU figures then inflated).
  const strace = process.env["PROBE_STRACE"] ? spawn("strace", ["-f", ...(process.env["PROBE_STRACE_ARGS"]?.split(" ") ?? ["-c"]), "-p", String(pid), "-o", `${process.env["PROBE_STRACE"]}/strace.${s}.txt`], { stdio: "ignore" }) : null;
  if (perf || strace) await sleep(300);
  await client.initialize(initFor(ws.dir, s)).catch((err: unknown) => {
    throw new Error(`worker ${s}: ${String(err)}; exit ${JSON.stringify(client.exitStatus)}; stderr:\n${stderr.slice(-20).join("\n")}`);
  });
  const t1 = ms(pid);
  const f1 = faults(pid);
  const completed = new Promise<void>((res) => (done = res));
  await client.enqueue(userMessage(`m-${s}`, "hello"));
  await completed;
  await sleep(50); // the turn's last writes after the ack
  const t2 = ms(pid);
  const f2 = faults(pid);
  if (perf) {
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
  }
  await sleep(idleMs);
  const t3 = ms(pid);
  [f0, f1 - f0, f2 - f1, faults(pid) - f2].forEach((v, i) => faultSums.get(phases[i]!)!.push(v));
  await client.shutdown().catch(() => undefined);
  await client.exited;
  if (strace) await new Promise((r) => strace.once("exit", r));
  await sleep(20);
  const whole = cpu(process.pid).children - before;
  ws.cleanup();
  const row = [t0, t1 - t0, t2 - t1, t3 - t2, whole - t3, whole];
  row.forEach((v, i) => sums.get(phases[i]!)!.push(v));
}
await fake.close();
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
console.log(`${n} worker lives (idle ${idleMs} ms), CPU ms per worker, mean / median; load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
for (const p of phases) {
  const f = faultSums.get(p);
  console.log(`  ${p.padEnd(11)} ${mean(sums.get(p)!).toFixed(1).padStart(6)} / ${median(sums.get(p)!).toFixed(1).padStart(6)}${f ? `   minor page faults ${Math.round(mean(f))}` : ""}`);
}
console.log("(exit and whole life come from this probe's children CPU, in 10 ms ticks: use the mean over many workers)");
