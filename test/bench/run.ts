// `pnpm bench`: measures the worker (Part A) and the whole server (Part B), each beside a floor
// measured in the same run, writes .bench-out/report.json and regenerates the results block of
// docs/PERFORMANCE.md. Benchmarks report; they never fail on a missed target.
// BENCH_QUICK=1 shrinks every loop (a smoke run of the machinery, numbers not meaningful).
// BENCH_HOST_PROF=<dir> makes the latency host (Part B) write a V8 CPU profile into <dir>.
// BENCH_NULL_WORKERS=0 leaves out Part B's host with null workers; BENCH_SKIP_HOST=1 skips Part B; BENCH_SKIP_WEB=1 skips Part C (the web channel); BENCH_MANY=<n> sets the conversation count of the host RSS run
// (0 skips it) and BENCH_MANY_DEADLINE_S how long it waits for their replies.
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { runHostBench, type HostBenchResult } from "./host-bench.js";
import { hostRunnable } from "./host-process.js";
import { evaluateTargets, renderMarkdown, spliceGenerated, type Machine, type Report } from "./report.js";
import { startupBreakdown, type StartupBreakdown } from "./startup-breakdown.js";
import { percentile } from "./stats.js";
import { runWebBench, type WebBenchResult } from "./web-bench.js";
import { runWorkerBench } from "./worker-bench.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = join(ROOT, ".bench-out");
const DOC = join(ROOT, "docs", "PERFORMANCE.md");
const quick = process.env["BENCH_QUICK"] === "1";

const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;
  mkdirSync(OUT, { recursive: true });
  log(quick ? "quick mode (BENCH_QUICK=1): small loops, numbers not meaningful" : "full run");

  const worker = await runWorkerBench({ spawnRuns: quick ? 3 : 15, rpcRequests: quick ? 200 : 2000, turns: quick ? 20 : 200, log });
  log(`worker spawn→ready p50 ${worker.spawnReady.worker.p50.toFixed(1)} ms vs node -e 0 ${worker.spawnReady.floor.p50.toFixed(1)} ms`);

  let startup: StartupBreakdown | null = null;
  const model = await startFakeOpenAI({ responder: () => ({ text: "ok" }) });
  try {
    log("start-up breakdown: import costs and a CPU profile of one worker start");
    startup = await startupBreakdown(quick ? 1 : 5, model.url);
  } catch (err) {
    log(`start-up breakdown failed: ${(err as Error).message}`);
  } finally {
    await model.close();
  }

  let host: HostBenchResult | null = null;
  let hostError: string | null = null;
  if (process.env["BENCH_SKIP_HOST"] === "1") {
    hostError = "skipped (BENCH_SKIP_HOST=1)";
  } else {
    hostError = await hostRunnable();
    if (hostError === null) {
      try {
        host = await runHostBench({
          outDir: OUT,
          levels: quick
            ? [{ conversations: 1, rounds: 5 }, { conversations: 10, rounds: 2 }]
            : [{ conversations: 1, rounds: 40 }, { conversations: 10, rounds: 10 }, { conversations: 100, rounds: 4 }],
          recoveryTrials: quick ? 1 : 7, // a p50 of 3 moved with one slow trial (session 9: 116 / 355 / 225 ms)
          slowModelDelayMs: 1000,
          manyConversations: Number(process.env["BENCH_MANY"] ?? (quick ? 50 : 1000)),
          manyDeadlineMs: Number(process.env["BENCH_MANY_DEADLINE_S"] ?? (quick ? 60 : 170)) * 1000,
          syncTurns: quick ? 5 : 30,
          secondFlood: process.env["BENCH_SECOND_FLOOD"] !== "0",
          nullWorkers: process.env["BENCH_NULL_WORKERS"] !== "0",
          log,
        });
      } catch (err) {
        hostError = `run failed: ${(err as Error).message}`;
      }
    }
    if (hostError) log(`host not runnable: ${hostError}`);
  }

  let web: WebBenchResult | null = null;
  let webError: string | null = process.env["BENCH_SKIP_WEB"] === "1" ? "skipped (BENCH_SKIP_WEB=1)" : await hostRunnable();
  if (webError === null) {
    try {
      web = await runWebBench({
        outDir: OUT,
        levels: quick ? [{ conversations: 1, rounds: 5 }, { conversations: 10, rounds: 2 }] : [{ conversations: 1, rounds: 40 }, { conversations: 100, rounds: 4 }],
        historyMessages: quick ? 200 : 1000,
        log,
      });
    } catch (err) {
      webError = `run failed: ${(err as Error).message}`;
      log(`web bench: ${webError}`);
    }
  }

  const report: Report = {
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    commit: gitCommit(),
    machine: machine(loadAtStart),
    worker,
    startup,
    host,
    hostError,
    web,
    webError,
    targets: evaluateTargets(worker, host),
  };
  writeFileSync(join(OUT, "report.json"), JSON.stringify(report, null, 2) + "\n");
  const markdown = renderMarkdown(report);
  if (quick) {
    writeFileSync(join(OUT, "report.md"), markdown + "\n");
    log("quick mode: docs/PERFORMANCE.md left alone; see .bench-out/report.md");
  } else {
    const doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Performance\n";
    writeFileSync(DOC, spliceGenerated(doc, markdown));
  }
  for (const t of report.targets) log(`${t.met === null ? "n/a   " : t.met ? "met   " : "MISSED"} ${t.name}: ${t.measured} (goal ${t.target})`);
  log(`done in ${report.durationSeconds.toFixed(0)} s → .bench-out/report.json${quick ? "" : ", docs/PERFORMANCE.md"}`);
}

function gitCommit(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

function machine(loadAtStart: number): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    kernel: release(),
    fsyncP50Ms: fsyncProbe(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
  };
}

/** fsync of a 100-byte append, 100 times, on the filesystem the workspaces live on. */
function fsyncProbe(): number {
  const file = join(tmpdir(), `starling-bench-fsync-${process.pid}`);
  const fd = openSync(file, "w");
  const samples: number[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      writeSync(fd, "x".repeat(100));
      const t0 = performance.now();
      fsyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return percentile(samples, 50);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
