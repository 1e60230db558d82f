// Worker CPU by turn index: fresh workers started as the host starts them (snapshot blob), one after another,
// R plain turns each; CPU from /proc/<pid>/task/*/schedstat (ns, all threads), averaged per turn index. Shows
// what a young worker (the 100-conversation case: a few turns per worker) pays over a warm one.
//   npx tsx test/bench/probe-turn-curve.ts [sessions=10] [rounds=8]
// PROBE_BLOB=<blob> measures another build; PAIR_BLOB=<blob> also runs that build, alternating worker by worker.
import { readdirSync, readFileSync } from "node:fs";
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv } from "./proc.js";
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const sessions = Number(args[0] ?? 10), rounds = Number(args[1] ?? 8);
const argsFor = (blob?: string) => (blob ? [...bundledWorkerArgs().slice(0, bundledWorkerArgs().indexOf("--snapshot-blob")), "--snapshot-blob", blob] : bundledWorkerArgs());
const builds: { name: string; args: string[] }[] = [{ name: process.env["PROBE_BLOB"] ? "blob" : "current", args: argsFor(process.env["PROBE_BLOB"]) }];
if (process.env["PAIR_BLOB"]) builds.push({ name: "pair", args: argsFor(process.env["PAIR_BLOB"]) });
const cpuNs = (pid: number) => readdirSync(`/proc/${pid}/task`).reduce((s, t) => { try { return s + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]); } catch { return s; } }, 0);
const fake = await startFakeOpenAI({ responder: () => ({ text: "ok, here is a short answer" }) });
const curves = builds.map(() => Array.from({ length: rounds }, () => 0));
const starts = builds.map(() => 0);
for (let s = 0; s < sessions; s++) for (const [bi, b] of builds.entries()) {
  const ws = tempWorkspace("probe-tc-");
  const client = spawnWorker({ command: [process.execPath, ...b.args], cwd: ws.dir, env: childEnv({ ...WORKER_MALLOC_ENV, HOME: ws.dir, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }), stderr: () => undefined });
  let done: (() => void) | null = null;
  client.onEvent((e: SessionEventParams) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    if (e.event.type === "turn_completed") done?.();
  });
  await client.initialize(initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: `tc${s}.foreground` }));
  const pid = client.pid!;
  await new Promise((res) => setTimeout(res, 100));
  starts[bi]! += cpuNs(pid);
  for (let i = 0; i < rounds; i++) {
    const a = cpuNs(pid);
    const completed = new Promise<void>((res) => (done = res));
    await client.enqueue(userMessage(`m-${s}-${i}`, `hello number ${i}`));
    await completed;
    await new Promise((res) => setTimeout(res, 5)); // let the turn's tail (acks, machine) finish
    curves[bi]![i]! += cpuNs(pid) - a;
  }
  await client.shutdown().catch(() => undefined);
  await client.exited;
  ws.cleanup();
}
await fake.close();
for (const [bi, b] of builds.entries()) {
  const c = curves[bi]!.map((v) => v / sessions / 1e6);
  console.log(`${b.name} ${sessions}×${rounds}: start+init ${(starts[bi]! / sessions / 1e6).toFixed(1)} ms; per turn ${c.map((v) => v.toFixed(2)).join(" ")}; turns 2-${rounds} avg ${(c.slice(1).reduce((x, y) => x + y, 0) / (rounds - 1)).toFixed(2)}`);
}
