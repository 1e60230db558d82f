// CPU cost of one worker start, for comparing start-up variants under load (wall time swings with
// the machine; CPU time per start does not as much). Usage:
//   npx tsx test/bench/startup-cpu.ts [runs] [--warm | --phases] [--mcp] [-- node args... worker.js]
// --warm: a warm spare's view: `initialize` sent 500 ms after spawn, only it timed (wall and CPU).
// --mcp: the session has an MCP server (test/fakes/mcp/stdio-server.mjs; started only before a model call, so
// `initialize` measures loading the MCP client, packages/worker/dist/mcp.bundle.cjs for a bundled worker).
// --phases: a cold start split in two: spawn → first JSON-RPC answer (a `session/query` sent at spawn,
// refused as NotInitialized) and that answer → `initialize` answered, each with the worker's CPU in ns
// from /proc/<pid>/task/*/schedstat (read while the worker waits for input, so it is up to date).
// Without a command it measures the command the host uses (workerCommand from worker-path.ts).
// Per start: spawn → `initialize` answered (wall), the worker's utime+stime at that moment
// (/proc/<pid>/stat), and its RssAnon / Pss 300 ms later.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mcpServers as mcpServersSchema, PROTOCOL_VERSION, spawnWorker } from "@starling/protocol";
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

/** CPU of all the process's threads in ms, from the scheduler's ns counters. */
function schedCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // a thread that ended in between
    }
  }
  return ns / 1e6;
}

const sep = process.argv.indexOf("--");
const runs = Number(process.argv.slice(2, sep > 0 ? sep : undefined).find((a) => /^\d+$/.test(a)) ?? 10);
const warm = process.argv.slice(2, sep > 0 ? sep : undefined).includes("--warm");
const mcp = process.argv.slice(2, sep > 0 ? sep : undefined).includes("--mcp");
const mcpServers = mcp
  ? mcpServersSchema().parse({ fake: { transport: "stdio", command: process.execPath, args: [fileURLToPath(new URL("../fakes/mcp/stdio-server.mjs", import.meta.url))] } })
  : undefined;
const phases = !warm && process.argv.slice(2, sep > 0 ? sep : undefined).includes("--phases");
const command: [string, ...string[]] = sep > 0 ? [process.execPath, ...process.argv.slice(sep + 1)] : workerCommand(undefined);
const env = childEnv({ FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" });

const fake = await startFakeOpenAI({ responder: () => ({ text: "ok" }) });
const rows: { wall: number; cpu: number; anon: number; pss: number; firstWall: number; firstCpu: number; initCpu: number }[] = [];
try {
  for (let i = 0; i < runs + 1; i++) {
    const ws = tempWorkspace("starling-startup-cpu-");
    let t0 = now();
    const client = spawnWorker({ command, cwd: ws.dir, env, stderr: (line) => process.stderr.write(line + "\n") });
    let cpu0 = 0;
    let firstWall = NaN;
    let firstCpu = NaN;
    if (phases) {
      await client.raw("session/query", { view: "live_state" }).catch(() => undefined); // NotInitialized: the first answer
      firstWall = now() - t0;
      firstCpu = schedCpuMs(client.pid!);
    }
    if (warm) {
      await client.raw("session/query", { view: "live_state" }).catch(() => undefined); // NotInitialized: up
      await sleep(500);
      cpu0 = cpuMs(client.pid!);
      t0 = now();
    }
    await client.initialize({ protocolVersion: PROTOCOL_VERSION, sessionId: "bench.foreground", sessionType: "foreground", workspace: ws.dir, model: modelConfig(fake.url), mcpServers });
    const wall = now() - t0;
    const cpu = cpuMs(client.pid!) - cpu0;
    const initCpu = phases ? schedCpuMs(client.pid!) - firstCpu : NaN;
    await sleep(300);
    const mem = memoryOf(client.pid);
    await client.close();
    ws.cleanup();
    if (i > 0) rows.push({ wall, cpu, anon: (mem?.anonKb ?? NaN) / 1024, pss: (mem?.pssKb ?? NaN) / 1024, firstWall, firstCpu, initCpu }); // the first warms the page cache
  }
} finally {
  await fake.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
console.log(
  `${command.slice(1).join(" ")}${warm ? " (warm: initialize only)" : ""}${mcp ? " (an MCP server)" : ""}\n  ${runs} starts, load ${load}: wall p50 ${med(rows.map((r) => r.wall)).toFixed(0)} ms, ` +
    `CPU p50 ${med(rows.map((r) => r.cpu)).toFixed(0)} ms (min ${Math.min(...rows.map((r) => r.cpu))}), ` +
    `idle RssAnon ${med(rows.map((r) => r.anon)).toFixed(1)} MB, Pss ${med(rows.map((r) => r.pss)).toFixed(1)} MB`,
);
if (phases) {
  console.log(
    `  spawn → first answer: wall p50 ${med(rows.map((r) => r.firstWall)).toFixed(0)} ms, CPU p50 ${med(rows.map((r) => r.firstCpu)).toFixed(1)} ms; ` +
      `first answer → initialize answered: CPU p50 ${med(rows.map((r) => r.initCpu)).toFixed(1)} ms (schedstat)`,
  );
}
