// Worker CPU by turn index: fresh workers started as the host starts them (snapshot blob), one after another,
// R plain turns each; CPU from /proc/<pid>/task/*/schedstat (ns, all threads), averaged per turn index. Shows
// what a young worker (the 100-conversation case: a few turns per worker) pays over a warm one.
// Minor page faults (/proc/<pid>/stat minflt, all threads) per turn index too: a count, not moved by the load.
//   npx tsx test/bench/probe-turn-curve.ts [sessions=10] [rounds=8]
// PROBE_BLOB=<blob> measures another build; PAIR_BLOB=<blob> also runs that build, alternating worker by worker.
// PROBE_FLAGS / PAIR_FLAGS='<node flags>' go in front of the build's arguments; PROBE_ENV / PAIR_ENV='K=V K=V' add to
// its environment (a pair of start flags or of malloc settings with one blob). PROBE_GAP_MS=<ms> (5): the pause after
// each turn, as a worker at 100 conversations waits seconds for its next message.
import { readdirSync, readFileSync } from "node:fs";
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv, faultsOf } from "./proc.js";
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const sessions = Number(args[0] ?? 10), rounds = Number(args[1] ?? 8);
const argsFor = (blob?: string) => (blob ? [...bundledWorkerArgs().slice(0, bundledWorkerArgs().indexOf("--snapshot-blob")), "--snapshot-blob", blob] : bundledWorkerArgs());
const flags = (v?: string) => v?.split(" ").filter(Boolean) ?? [];
const envOf = (v?: string) => Object.fromEntries(flags(v).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
const build = (name: string, blob?: string, f?: string, e?: string) => ({ name: `${name}${f ? ` ${f}` : ""}${e ? ` ${e}` : ""}`, args: [...flags(f), ...argsFor(blob)], env: envOf(e) });
const builds = [build(process.env["PROBE_BLOB"] ? "blob" : "current", process.env["PROBE_BLOB"], process.env["PROBE_FLAGS"], process.env["PROBE_ENV"])];
if (process.env["PAIR_BLOB"] || process.env["PAIR_FLAGS"] || process.env["PAIR_ENV"]) builds.push(build("pair", process.env["PAIR_BLOB"], process.env["PAIR_FLAGS"], process.env["PAIR_ENV"]));
const cpuNs = (pid: number) => readdirSync(`/proc/${pid}/task`).reduce((s, t) => { try { return s + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]); } catch { return s; } }, 0);
const gapMs = Number(process.env["PROBE_GAP_MS"] ?? 5);
const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer" }) });
const curves = builds.map(() => Array.from({ length: rounds }, () => 0));
const faultCurves = builds.map(() => Array.from({ length: rounds }, () => 0));
const starts = builds.map(() => 0);
const startFaults = builds.map(() => 0);
for (let s = 0; s < sessions; s++) for (const [bi, b] of builds.entries()) {
  const ws = tempWorkspace("probe-tc-");
  const client = spawnWorker({ command: [process.execPath, ...b.args], cwd: ws.dir, env: childEnv({ ...WORKER_MALLOC_ENV, ...b.env, HOME: ws.dir, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }), stderr: () => undefined });
  let done: (() => void) | null = null;
  client.onEvent((e: SessionEventParams) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    if (e.event.type === "turn_completed") done?.();
  });
  await client.initialize(initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: `tc${s}.foreground` }));
  const pid = client.pid!;
  await new Promise((res) => setTimeout(res, 100));
  starts[bi]! += cpuNs(pid);
  startFaults[bi]! += faultsOf(pid).minor;
  for (let i = 0; i < rounds; i++) {
    const a = cpuNs(pid);
    const fa = faultsOf(pid).minor;
    const completed = new Promise<void>((res) => (done = res));
    await client.enqueue(userMessage(`m-${s}-${i}`, `hello number ${i}`));
    await completed;
    await new Promise((res) => setTimeout(res, gapMs)); // let the turn's tail (acks, machine) finish
    curves[bi]![i]! += cpuNs(pid) - a;
    faultCurves[bi]![i]! += faultsOf(pid).minor - fa;
  }
  await client.shutdown().catch(() => undefined);
  await client.exited;
  ws.cleanup();
}
await fake.close();
for (const [bi, b] of builds.entries()) {
  const c = curves[bi]!.map((v) => v / sessions / 1e6);
  const f = faultCurves[bi]!.map((v) => v / sessions);
  console.log(`${b.name} minor faults: start+init ${(startFaults[bi]! / sessions).toFixed(0)}; per turn ${f.map((v) => v.toFixed(0)).join(" ")}; turns 2-${rounds} avg ${(f.slice(1).reduce((x, y) => x + y, 0) / (rounds - 1)).toFixed(1)}`);
  console.log(`${b.name} ${sessions}×${rounds}: start+init ${(starts[bi]! / sessions / 1e6).toFixed(1)} ms; per turn ${c.map((v) => v.toFixed(2)).join(" ")}; turns 2-${rounds} avg ${(c.slice(1).reduce((x, y) => x + y, 0) / (rounds - 1)).toFixed(2)}`);
}
