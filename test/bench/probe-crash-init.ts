// A warm spare's `initialize` on a session whose last worker was killed mid-turn (the recovery path),
// against the same on a session whose worker shut down cleanly. Per run: a worker takes a message the
// fake model answers late, and is `kill -9`ed (or shut down) while the model call is in flight; a spare
// spawned 500 ms before then gets `initialize`, timed (wall, and its CPU from /proc).
//   npx tsx test/bench/probe-crash-init.ts [runs]        PROBE_PROF=<dir> writes the spares' CPU profiles
import { readFileSync } from "node:fs";
import { InitializeParams, PROTOCOL_VERSION, spawnWorker, type WorkerClient } from "@starling/protocol";
import { modelConfig, tempWorkspace } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { workerCommand } from "../../packages/host/dist/worker-path.js";
import { childEnv, sleep } from "./proc.js";
import { now } from "./stats.js";

const runs = Number(process.argv[2] ?? 6);
const prof = process.env["PROBE_PROF"];
// PROBE_BLOB=<file> starts that snapshot blob instead (a before/after pair of builds).
const blob = process.env["PROBE_BLOB"];
const base: [string, ...string[]] = blob ? [process.execPath, "--max-semi-space-size=1", "--snapshot-blob", blob] : workerCommand(undefined);
const command: [string, ...string[]] = prof ? [base[0], "--cpu-prof", "--cpu-prof-dir", prof, ...base.slice(1)] : base;
const env = childEnv({ FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" });

/** CPU time of the process's main thread in ms, at nanosecond resolution (/proc/<pid>/schedstat). */
function cpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

const fake = await startFakeOpenAI({ responder: (req) => ({ text: "ok", delayMs: JSON.stringify(req.body).includes("slow") ? 5_000 : 0 }) });
const init = (ws: string) => InitializeParams.parse({ protocolVersion: PROTOCOL_VERSION, sessionId: "bench.foreground", sessionType: "foreground", workspace: ws, model: modelConfig(fake.url) });

async function spare(cwd: string, traced = false): Promise<WorkerClient> {
  // PROBE_STRACE=<dir>: the spares that get `initialize` after a kill or shutdown run under strace (syscalls with times).
  const strace = process.env["PROBE_STRACE"];
  const cmd: [string, ...string[]] = traced && strace ? ["strace", "-f", "-ttt", "-T", "-o", `${strace}/spare.${Date.now()}`, ...command] : command;
  const client = spawnWorker({ command: cmd, cwd, env, stderr: (line) => process.stderr.write(line + "\n") });
  await client.raw("session/query", { view: "live_state" }).catch(() => undefined);
  await sleep(500);
  return client;
}

/** `initialize`, then (as the host does for a recovered turn) `session/continue` until the model is asked again. */
async function timedInit(client: WorkerClient, ws: string): Promise<{ wall: number; cpu: number; toModel: number; cpuToModel: number; unfinished: boolean }> {
  const cpu0 = cpuMs(client.pid!);
  const t0 = now();
  const result = await client.initialize(init(ws));
  const wall = now() - t0;
  const cpu = cpuMs(client.pid!) - cpu0;
  const before = fake.requests.length;
  await client.continue({ reason: "probe" });
  const until = Date.now() + 20_000;
  while (fake.requests.length === before && Date.now() < until) await new Promise((r) => setImmediate(r));
  return { wall, cpu, toModel: now() - t0, cpuToModel: cpuMs(client.pid!) - cpu0, unfinished: result.unfinishedTurn != null };
}

type Row = { wall: number; cpu: number; toModel: number; cpuToModel: number };
const rows: Record<"crash" | "clean", Row[]> = { crash: [], clean: [] };
const cold: { wall: number; cpu: number }[] = [];
try {
  for (let i = 0; i < runs; i++) {
    {
      const ws = tempWorkspace("starling-crash-init-");
      const t0 = now();
      const client = spawnWorker({ command, cwd: ws.dir, env, stderr: (line) => process.stderr.write(line + "\n") });
      await client.initialize(init(ws.dir));
      if (i > 0) cold.push({ wall: now() - t0, cpu: cpuMs(client.pid!) });
      await client.close();
      ws.cleanup();
    }
    for (const kind of ["crash", "clean"] as const) {
      const ws = tempWorkspace("starling-crash-init-");
      const first = await spare(ws.dir);
      await first.initialize(init(ws.dir));
      for (let t = 0; t < 3; t++) {
        const before = fake.requests.length;
        await first.enqueue({ messageId: `m${t}`, kind: "user", message: { role: "user", content: [{ type: "text", text: t === 2 ? "slow please" : `hello ${t}` }] } });
        const until = Date.now() + 20_000;
        while (fake.requests.length === before && Date.now() < until) await sleep(5);
        if (t < 2) await sleep(200);
      }
      const second = await spare(ws.dir, true);
      if (kind === "crash") process.kill(first.pid!, "SIGKILL");
      else await first.close();
      await first.exited;
      const r = await timedInit(second, ws.dir);
      if (kind === "crash" && !r.unfinished) console.log("note: no unfinished turn reported after the kill");
      if (i > 0) rows[kind].push(r);
      await second.close();
      ws.cleanup();
    }
  }
} finally {
  await fake.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
for (const kind of ["crash", "clean"] as const) {
  const p = (k: keyof Row) => med(rows[kind].map((r) => r[k])).toFixed(k.startsWith("cpu") ? 1 : 0);
  console.log(`${kind}: n ${rows[kind].length}, initialize wall p50 ${p("wall")} ms, main-thread CPU p50 ${p("cpu")} ms; initialize → continue → model asked: wall p50 ${p("toModel")} ms, CPU p50 ${p("cpuToModel")} ms`);
}
console.log(`cold spawn → initialize answered: n ${cold.length}, wall p50 ${med(cold.map((r) => r.wall)).toFixed(0)} ms, main-thread CPU p50 ${med(cold.map((r) => r.cpu)).toFixed(1)} ms`);
console.log(`load average ${load}`);
