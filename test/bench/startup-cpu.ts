// CPU cost of one worker start, for comparing start-up variants under load (wall time swings with
// the machine; CPU time per start does not as much). Usage:
//   npx tsx test/bench/startup-cpu.ts [runs] [--warm] [-- node args... worker.js]
// --warm: a warm spare's view: `initialize` sent 500 ms after spawn, only it timed (wall and CPU).
// Without a command it measures the command the host uses (workerCommand from worker-path.ts).
// Per start: spawn → `initialize` answered (wall), the worker's utime+stime at that moment
// (/proc/<pid>/stat), and its RssAnon / Pss 300 ms later.
import { readFileSync } from "node:fs";
import { PROTOCOL_VERSION, spawnWorker } from "@starling/protocol";
import { modelConfig, tempWorkspace } from "../conformance/harness.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { workerCommand } from "../../packages/host/dist/worker-path.js";
import { childEnv, memoryOf, sleep } from "./proc.js";
import { now } from "./stats.js";

const CLK_TCK = 100;

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime + stime (fields 14, 15)
}

const sep = process.argv.indexOf("--");
const runs = Number(process.argv.slice(2, sep > 0 ? sep : undefined).find((a) => /^\d+$/.test(a)) ?? 10);
const warm = process.argv.slice(2, sep > 0 ? sep : undefined).includes("--warm");
const command: [string, ...string[]] = sep > 0 ? [process.execPath, ...process.argv.slice(sep + 1)] : workerCommand(undefined);
const env = childEnv({ FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" });

const fake = await startFakeOpenAI({ responder: () => ({ text: "ok" }) });
const rows: { wall: number; cpu: number; anon: number; pss: number }[] = [];
try {
  for (let i = 0; i < runs + 1; i++) {
    const ws = tempWorkspace("starling-startup-cpu-");
    let t0 = now();
    const client = spawnWorker({ command, cwd: ws.dir, env, stderr: (line) => process.stderr.write(line + "\n") });
    let cpu0 = 0;
    if (warm) {
      await client.raw("session/query", { view: "live_state" }).catch(() => undefined); // NotInitialized: up
      await sleep(500);
      cpu0 = cpuMs(client.pid!);
      t0 = now();
    }
    await client.initialize({ protocolVersion: PROTOCOL_VERSION, sessionId: "bench.foreground", sessionType: "foreground", workspace: ws.dir, model: modelConfig(fake.url) });
    const wall = now() - t0;
    const cpu = cpuMs(client.pid!) - cpu0;
    await sleep(300);
    const mem = memoryOf(client.pid);
    await client.close();
    ws.cleanup();
    if (i > 0) rows.push({ wall, cpu, anon: (mem?.anonKb ?? NaN) / 1024, pss: (mem?.pssKb ?? NaN) / 1024 }); // the first warms the page cache
  }
} finally {
  await fake.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
console.log(
  `${command.slice(1).join(" ")}${warm ? " (warm: initialize only)" : ""}\n  ${runs} starts, load ${load}: wall p50 ${med(rows.map((r) => r.wall)).toFixed(0)} ms, ` +
    `CPU p50 ${med(rows.map((r) => r.cpu)).toFixed(0)} ms (min ${Math.min(...rows.map((r) => r.cpu))}), ` +
    `idle RssAnon ${med(rows.map((r) => r.anon)).toFixed(1)} MB, Pss ${med(rows.map((r) => r.pss)).toFixed(1)} MB`,
);
