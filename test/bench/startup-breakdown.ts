// Where a worker's start-up time goes: incremental import cost per dependency (median of a few
// runs of startup-imports.mjs) and a CPU profile of one real spawn → initialize, by package.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION, spawnWorker } from "@starling/protocol";
import { modelConfig, tempWorkspace, WORKER_MAIN } from "../conformance/harness.js";
import { childEnv, nodeOutput, withTimeout } from "./proc.js";
import { percentile } from "./stats.js";

export interface StartupBreakdown {
  /** Time from process start until the first line of user code runs (node's own boot), median. */
  nodeBootMs: number;
  /** Incremental import cost in load order (each step includes what it pulls in that was not loaded yet). */
  imports: { module: string; ms: number }[];
  /** Self time of one spawn → initialize, grouped by package / runtime category (CPU profile, 100 µs sampling). */
  profile: { spanMs: number; byCategory: { category: string; ms: number }[] } | null;
  /** How the import costs were taken. */
  note: string;
}

const IMPORTS_SCRIPT = fileURLToPath(new URL("./startup-imports.mjs", import.meta.url));

export async function startupBreakdown(runs: number, modelUrl: string): Promise<StartupBreakdown> {
  const samples: { bootMs: number; steps: { module: string; ms: number }[] }[] = [];
  for (let i = 0; i < runs; i++) {
    const out = await nodeOutput(["--no-warnings", "--experimental-import-meta-resolve", IMPORTS_SCRIPT]);
    samples.push(JSON.parse(out.trim()) as (typeof samples)[number]);
  }
  const modules = samples[0]?.steps.map((s) => s.module) ?? [];
  const imports = modules.map((module) => ({
    module,
    ms: percentile(samples.map((s) => s.steps.find((x) => x.module === module)?.ms ?? Number.NaN), 50),
  }));
  return {
    nodeBootMs: percentile(samples.map((s) => s.bootMs), 50),
    imports,
    profile: await profileStartup(modelUrl).catch(() => null),
    note: "import costs are measured in a plain node process importing the worker's dependencies in load order",
  };
}

/** One worker start under `--cpu-prof`; self time aggregated by package. */
async function profileStartup(modelUrl: string): Promise<StartupBreakdown["profile"]> {
  const dir = mkdtempSync(join(tmpdir(), "starling-bench-prof-"));
  const ws = tempWorkspace("starling-bench-prof-ws-");
  try {
    const client = spawnWorker({
      command: [process.execPath, "--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100", WORKER_MAIN],
      cwd: ws.dir,
      env: childEnv({ FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn" }),
      stderr: "ignore",
    });
    await withTimeout(
      client.initialize({ protocolVersion: PROTOCOL_VERSION, sessionId: "prof.foreground", sessionType: "foreground", workspace: ws.dir, model: modelConfig(modelUrl) }),
      15_000,
      "profiled worker initialize",
    );
    await client.close();
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) return null;
    return aggregate(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    ws.cleanup();
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function aggregate(profile: CpuProfile): NonNullable<StartupBreakdown["profile"]> {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    const key = frame ? category(frame.url, frame.functionName) : "(unknown)";
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  // The profile runs until exit; the span up to `initialize` answered is what matters, but the
  // shutdown tail is short (a checkpoint and exit) so the totals are kept whole and labelled as such.
  const byCategory = [...totals]
    .map(([c, ms]) => ({ category: c, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 14);
  return { spanMs: (profile.endTime - profile.startTime) / 1000, byCategory };
}

function category(url: string, fn: string): string {
  if (!url) {
    // Native functions called from JS: fs bindings used by the module loader, GC, idle, compile.
    if (["(garbage collector)", "(idle)", "(program)"].includes(fn)) return fn;
    return "native fs/other bindings";
  }
  const pkg = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(packages\/[^/]+)\/dist\//.exec(url);
  if (own) return `@starling/${own[1]!.slice("packages/".length)}`;
  if (url.startsWith("node:internal/modules")) return "node module loader (ESM/CJS)";
  if (url.startsWith("node:")) return "node internals (other)";
  return url;
}
