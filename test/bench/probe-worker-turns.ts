// Worker CPU per turn without the host: K sessions (workers) one after another, each R turns
// (enqueue → turn_completed, zero-latency fake model, no tools), CPU / bytes per turn from /proc.
//   npx tsx test/bench/probe-worker-turns.ts [sessions=1] [rounds=100] [--unbundled | --shipped]
// --shipped starts the worker as the host does (bundledWorkerArgs: snapshot blob and its V8 flags, WORKER_MALLOC_ENV);
// PROBE_NODE_FLAGS='<flags>' adds node/V8 flags in front (e.g. --max-semi-space-size=2, --trace-gc).
// PROBE_PROF=<dir> runs the workers with --cpu-prof; PROBE_STRACE=<file> under `strace -f -c`.
// PROBE_BLOB=<file> starts the workers from another start-up snapshot blob (with the shipped flags).
// PROBE_IDLE=<ms>: after the last turn each worker idles that long (its idle collection runs after 5 s), then its RssAnon is read.
// --tool: every turn makes one `file_read` call (two model calls a turn) instead of answering at once.
// PROBE_ACK=enqueue: the processed events are acknowledged by the next `session/enqueue` (`ackUpTo`, as the host
// does for a busy session) instead of one `session/ackEvents` per durable event (the default, PROBE_ACK=each).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DURABLE_EVENT_TYPES, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { initParams, tempWorkspace, userMessage, WORKER_MAIN } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { bundledWorkerArgs, bundledWorkerMain, WORKER_MALLOC_ENV } from "../../packages/host/dist/worker-path.js";
import { childEnv, memoryOf } from "./proc.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const sessions = Number(args[0] ?? 1);
const rounds = Number(args[1] ?? 100);
const shipped = process.argv.includes("--shipped");
const main = process.env["PROBE_WORKER"] ?? (process.argv.includes("--unbundled") ? WORKER_MAIN : bundledWorkerMain());
const extraFlags = process.env["PROBE_NODE_FLAGS"]?.split(" ").filter(Boolean) ?? [];
const blob = process.env["PROBE_BLOB"];
const shippedArgs = () => (blob ? [...bundledWorkerArgs().slice(0, bundledWorkerArgs().indexOf("--snapshot-blob")), "--snapshot-blob", blob] : bundledWorkerArgs());
const workerArgs = [...extraFlags, ...(shipped || blob ? shippedArgs() : [main])];
const prof = process.env["PROBE_PROF"];
const straceOut = process.env["PROBE_STRACE"];
const idleMs = Number(process.env["PROBE_IDLE"] ?? 0);
let idleAnonKb = 0;

function stat(pid: number): { cpu: number; sys: number; r: number; w: number; syscw: number; minflt: number } {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const n = (k: string) => Number(new RegExp(`${k}: (\\d+)`).exec(io)?.[1] ?? 0);
  return { cpu: (Number(f[11]) + Number(f[12])) * 10, sys: Number(f[12]) * 10, r: n("rchar"), w: n("wchar"), syscw: n("syscw"), minflt: Number(f[7]) };
}

const withTool = process.argv.includes("--tool");
const ackOnEnqueue = process.env["PROBE_ACK"] === "enqueue";
const fake = await startFakeOpenAI({
  // With --tool the model calls, turn after turn: file_read, then the answer (the index counts every request).
  responder: (_req, index) =>
    withTool && index % 2 === 0 ? { toolCalls: [{ name: "file_read", arguments: { file_path: "notes.txt" } }] } : { text: "ok, here is a short answer" },
});
let sys = 0;
let cpu = 0, w = 0, r = 0, syscw = 0, turns = 0, minflt = 0;
let pss = 0;
for (let s = 0; s < sessions; s++) {
  const ws = tempWorkspace("probe-wt-");
  if (withTool) writeFileSync(join(ws.dir, "notes.txt"), "some notes\n");
  const pre = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const command: [string, ...string[]] = straceOut ? ["strace", "-f", ...(process.env["PROBE_STRACE_ARGS"]?.split(" ") ?? ["-c"]), "-o", `${straceOut}.${s}`, process.execPath, ...pre, ...workerArgs] : [process.execPath, ...pre, ...workerArgs];
  const client = spawnWorker({ command, cwd: ws.dir, env: childEnv({ ...(shipped ? WORKER_MALLOC_ENV : {}), HOME: ws.dir, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }), stderr: () => undefined });
  let done: (() => void) | null = null;
  let ackUpTo: number | undefined;
  client.onEvent((e: SessionEventParams) => {
    if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) {
      if (ackOnEnqueue) ackUpTo = e.seq;
      else void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    }
    if (e.event.type === "turn_completed") done?.();
    if (e.event.type === "turn_failed") throw new Error(JSON.stringify(e.event));
  });
  await client.initialize(initParams({ workspace: ws.dir, modelUrl: fake.url, sessionId: `probe${s}.foreground` }));
  const pid = straceOut ? Number(readFileSync(`/proc/${client.pid}/task/${client.pid}/children`, "utf8").trim().split(" ")[0]) : client.pid!;
  await new Promise((res) => setTimeout(res, 200));
  const a = stat(pid);
  for (let i = 0; i < rounds; i++) {
    const completed = new Promise<void>((res) => (done = res));
    const carried = ackUpTo;
    ackUpTo = undefined;
    await client.enqueue({ ...userMessage(`m-${s}-${i}`, `hello number ${i}`), ...(carried === undefined ? {} : { ackUpTo: carried }) });
    await completed;
    if (i === 9) pss += (memoryOf(pid)?.pssKb ?? 0);
  }
  const b = stat(pid);
  if (idleMs > 0) {
    await new Promise((res) => setTimeout(res, idleMs));
    idleAnonKb += memoryOf(pid)?.anonKb ?? 0;
  }
  cpu += b.cpu - a.cpu; sys += b.sys - a.sys; w += b.w - a.w; r += b.r - a.r; syscw += b.syscw - a.syscw; minflt += b.minflt - a.minflt; turns += rounds;
  await client.shutdown().catch(() => undefined);
  await client.exited;
  ws.cleanup();
}
await fake.close();
console.log(`${sessions} × ${rounds}${withTool ? " with a tool call" : ""}${ackOnEnqueue ? ", acks on enqueue" : ""} (${shipped ? "shipped" : main.endsWith("bundle.js") ? "bundle" : "unbundled"}${extraFlags.length ? ` ${extraFlags.join(" ")}` : ""}): worker CPU ${(cpu / turns).toFixed(2)} ms/turn (system ${(sys / turns).toFixed(2)}), ${(minflt / turns).toFixed(1)} minor page faults/turn, written ${(w / turns / 1024).toFixed(1)} kB/turn in ${(syscw / turns).toFixed(1)} write calls, read ${(r / turns / 1024).toFixed(1)} kB/turn${rounds >= 10 ? `, Pss after 10 turns ${(pss / sessions / 1024).toFixed(1)} MB` : ""}${idleMs > 0 ? `, RssAnon after ${idleMs} ms idle ${(idleAnonKb / sessions / 1024).toFixed(1)} MB` : ""}`);
