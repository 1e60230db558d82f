// The benchmark report: JSON shape, target checks and the Markdown written into docs/PERFORMANCE.md.
import type { FloodRound, HostBenchResult } from "./host-bench.js";
import type { Memory } from "./proc.js";
import type { StartupBreakdown } from "./startup-breakdown.js";
import { renderWeb, type WebBenchResult } from "./web-bench.js";
import { mb, ms, ratio, times, type Summary } from "./stats.js";
import type { WorkerBenchResult } from "./worker-bench.js";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
  /** fsync of a small write on the bench's temp filesystem, p50 (shows whether the disk really flushes). */
  fsyncP50Ms: number;
  /** 1-minute load average when the run started and ended (other work on the machine skews results). */
  loadAverage: { start: number; end: number };
}

export interface Report {
  startedAt: string;
  durationSeconds: number;
  commit: string | null;
  machine: Machine;
  worker: WorkerBenchResult;
  startup: StartupBreakdown | null;
  host: HostBenchResult | null;
  /** Why Part B did not run (null when it did). */
  hostError: string | null;
  /** Part C, the web channel (null when it did not run; `webError` says why). */
  web?: WebBenchResult | null;
  webError?: string | null;
  targets: Target[];
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** The targets of issue #8's table, judged against the floors of the same run. */
export function evaluateTargets(worker: WorkerBenchResult, host: HostBenchResult | null): Target[] {
  const t: Target[] = [];
  const floor = worker.spawnReady.floor.p50;
  const warm = ratio(worker.spawnReady.warmSpare.p50, floor);
  t.push({ name: "spawn → ready seen by a conversation, warm spare (p50)", target: "≤ 1.5× `node -e 0`", measured: `${ms(worker.spawnReady.warmSpare.p50)} vs ${ms(floor)} = ${times(warm)}`, met: warm <= 1.5 });
  t.push({ name: "spawn → ready, cold (p50)", target: "≤ 100 ms", measured: ms(worker.spawnReady.worker.p50), met: worker.spawnReady.worker.p50 <= 100 });
  const idle = (worker.memory.idleBundled ?? worker.memory.idle)?.anonKb ?? null;
  t.push({ name: "idle worker private memory (RssAnon)", target: "≤ 18 MB", measured: mb(idle), met: idle === null ? null : idle <= 18 * 1024 });
  // Ten workers side by side, as ten active chats run (issue #8's reason for the target); one worker alone
  // carries most of the `node` binary's shared pages in its Pss (the memory table shows that figure too).
  const active = worker.memory.active;
  const pss = active?.pssKb ?? null;
  t.push({
    name: `memory per active conversation (worker Pss after ${worker.memory.warmUpTurns} turns, ${active?.workers ?? "n/a"} active side by side, mean)`,
    target: "≤ 25 MB",
    measured: mb(pss),
    met: pss === null ? null : pss <= 25 * 1024,
  });
  for (const level of host?.e2e ?? []) {
    const p50 = ratio(level.host.latency.p50, level.floor.latency.p50);
    const p99 = ratio(level.host.latency.p99, level.floor.latency.p99);
    const goal = level.conversations <= 1 ? 2 : 3;
    t.push({ name: `end-to-end turn, ${level.conversations} conversation(s), p50`, target: `≤ ${goal}× floor bot`, measured: `${ms(level.host.latency.p50)} vs ${ms(level.floor.latency.p50)} = ${times(p50)}`, met: p50 <= goal });
    t.push({ name: `end-to-end turn, ${level.conversations} conversation(s), p99`, target: "≤ 4× floor bot", measured: `${ms(level.host.latency.p99)} vs ${ms(level.floor.latency.p99)} = ${times(p99)}`, met: p99 <= 4 });
  }
  const top = host?.e2e.find((l) => l.conversations === 100);
  if (top) t.push({ name: "turns/s at 100 conversations", target: "≥ 300", measured: `${top.host.turnsPerSecond.toFixed(1)} (floor bot ${top.floor.turnsPerSecond.toFixed(1)})`, met: top.host.turnsPerSecond >= 300 });
  const many = host?.many;
  if (many) {
    const all = many.admitted === many.conversations;
    t.push({ name: `${many.conversations}-chat flood: all admitted`, target: "≤ 5 s", measured: all ? `${many.admittedSeconds.toFixed(1)} s` : `${many.admitted}/${many.conversations} after ${many.admittedSeconds.toFixed(1)} s`, met: all && many.admittedSeconds <= 5 });
    const rate = many.replied / Math.max(many.seconds, 0.001);
    const nulls = host.nullFlood;
    const nullRate = nulls ? ` (null workers ${(nulls.replied / Math.max(nulls.seconds, 0.001)).toFixed(1)}, ${nulls.conversations} chats)` : "";
    t.push({ name: `${many.conversations}-chat flood: first-message turns/s`, target: "≥ 15", measured: `${rate.toFixed(1)}${nullRate}`, met: rate >= 15 });
    const rss = many.hostAtAdmitted?.rssKb ?? null;
    t.push({ name: `host VmRSS with ${many.conversations} admitted conversations`, target: "≤ 120 MB", measured: mb(rss), met: rss === null || !all ? null : rss <= 120 * 1024 });
    const again = many.second?.hostAtAdmitted?.rssKb ?? null;
    if (rss !== null && again !== null) {
      t.push({ name: "host VmRSS over a second flood (same chats)", target: "flat (≤ +5 %)", measured: `${mb(rss)} → ${mb(again)}`, met: again <= rss * 1.05 });
    }
  }
  if (host?.recovery) {
    t.push({ name: "recovery after `kill -9` of a worker, beyond the model delay (p50)", target: "≤ 200 ms", measured: ms(host.recovery.recoveryMs.p50), met: host.recovery.recoveryMs.p50 <= 200 });
  }
  return t;
}

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
const verdict = (met: boolean | null) => (met === null ? "n/a" : met ? "**met**" : "**missed**");
const memCells = (m: Memory | null) =>
  m === null ? ["n/a", "n/a", "n/a", "n/a"] : [mb(m.rssKb), mb(m.anonKb), mb(m.fileKb), mb(m.pssKb)];

function vs(label: string, value: Summary, floorLabel: string, floor: Summary, quantiles: ("p50" | "p90" | "p99")[]): string[] {
  return [
    row([label, value.n, ...quantiles.map((q) => ms(value[q])), ...quantiles.map((q) => times(ratio(value[q], floor[q])))]),
    row([floorLabel, floor.n, ...quantiles.map((q) => ms(floor[q])), ...quantiles.map(() => "1.00×")]),
  ];
}

export function renderMarkdown(r: Report): string {
  const w = r.worker;
  const out: string[] = [];
  out.push(
    `Generated by \`pnpm bench\` on ${r.startedAt} (commit ${r.commit ?? "unknown"}, ${Math.round(r.durationSeconds)} s).`,
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB RAM, Node ${r.machine.node}, Linux ${r.machine.kernel}; fsync of a small write: p50 ${ms(r.machine.fsyncP50Ms)}; 1-minute load average ${r.machine.loadAverage.start.toFixed(2)} at the start, ${r.machine.loadAverage.end.toFixed(2)} at the end.`,
    "",
    "### Targets",
    "",
    row(["target", "goal", "measured", "result"]),
    row(["---", "---", "---", "---"]),
    ...r.targets.map((t) => row([t.name, t.target, t.measured, verdict(t.met)])),
  );
  if (r.hostError) out.push("", `Part B (host) did not run — host not runnable: ${r.hostError}`);

  out.push("", "### Worker (Part A)", "", row(["measurement", "n", "p50", "p90", "p50 / floor", "p90 / floor"]), row(["---", "---", "---", "---", "---", "---"]));
  const shipped = w.spawnReady.main.replace(/^.*\/packages\//, "packages/");
  out.push(...vs(`spawn → \`initialize\` answered (\`${shipped}\`, what the host starts)`, w.spawnReady.worker, "floor: `node -e 0` spawn → exit", w.spawnReady.floor, ["p50", "p90"]));
  if (w.spawnReady.warmSpare) out.push(row(["↳ warm spare: `initialize` → answered, on a worker spawned 500 ms before", w.spawnReady.warmSpare.n, ms(w.spawnReady.warmSpare.p50), ms(w.spawnReady.warmSpare.p90), times(ratio(w.spawnReady.warmSpare.p50, w.spawnReady.floor.p50)), times(ratio(w.spawnReady.warmSpare.p90, w.spawnReady.floor.p90))]));
  out.push(row(["↳ spawn → first JSON-RPC answer (before `initialize`)", w.spawnReady.workerListening.n, ms(w.spawnReady.workerListening.p50), ms(w.spawnReady.workerListening.p90), times(ratio(w.spawnReady.workerListening.p50, w.spawnReady.floor.p50)), times(ratio(w.spawnReady.workerListening.p90, w.spawnReady.floor.p90))]));
  const u = w.spawnReady.unbundled;
  if (u) {
    const cells = (label: string, v: Summary) => row([label, v.n, ms(v.p50), ms(v.p90), times(ratio(v.p50, w.spawnReady.floor.p50)), times(ratio(v.p90, w.spawnReady.floor.p90))]);
    out.push(cells("unbundled `dist/main.js`: spawn → `initialize` answered", u.worker), cells("↳ unbundled: warm spare `initialize` → answered", u.warmSpare), cells("↳ unbundled: spawn → first JSON-RPC answer", u.workerListening));
  }
  if (w.spawnReady.coldFaults) {
    const f = w.spawnReady.coldFaults;
    const cost = w.spawnReady.faultCostUs;
    out.push(row([`(aside) minor page faults of that cold start, by \`initialize\` answered (a fault costs ${cost.toFixed(1)} µs of CPU here: ≈ ${((f.p50 * cost) / 1000).toFixed(0)} ms at p50)`, f.n, Math.round(f.p50), Math.round(f.p90), "—", "—"]));
  }
  if (w.spawnReady.floorWithExtraCaCerts) {
    const f = w.spawnReady.floorWithExtraCaCerts;
    out.push(row(["(aside) `node -e 0` with the inherited NODE_EXTRA_CA_CERTS", f.n, ms(f.p50), ms(f.p90), times(ratio(f.p50, w.spawnReady.floor.p50)), "—"]));
  }
  out.push("", row(["measurement", "n", "p50", "p99", "p50 / floor", "p99 / floor"]), row(["---", "---", "---", "---", "---", "---"]));
  out.push(...vs("`session/query {view: live_state}` via WorkerClient", w.rpc.worker, `floor: vscode-jsonrpc echo server (same ${w.rpc.responseBytes}-byte answer)`, w.rpc.floor, ["p50", "p99"]).slice(0, 1));
  out.push(row(["↳ same, bare vscode-jsonrpc client (no zod parse)", w.rpc.workerRawClient.n, ms(w.rpc.workerRawClient.p50), ms(w.rpc.workerRawClient.p99), times(ratio(w.rpc.workerRawClient.p50, w.rpc.floor.p50)), times(ratio(w.rpc.workerRawClient.p99, w.rpc.floor.p99))]));
  out.push(row([`floor: vscode-jsonrpc echo server (same ${w.rpc.responseBytes}-byte answer)`, w.rpc.floor.n, ms(w.rpc.floor.p50), ms(w.rpc.floor.p99), "1.00×", "1.00×"]));
  out.push(...vs("one turn: enqueue → `turn_completed`", w.turn.worker, "floor: the same request body, fetch → fake model", w.turn.floor, ["p50", "p99"]));
  out.push(row(["↳ enqueue acknowledged (durable, sync batch)", w.turn.enqueueAck.n, ms(w.turn.enqueueAck.p50), ms(w.turn.enqueueAck.p99), "—", "—"]));

  out.push("", row(["memory", "VmRSS", "RssAnon (private)", "RssFile (shared binary)", "Pss"]), row(["---", "---", "---", "---", "---"]));
  out.push(row(["floor: idle bare `node`", ...memCells(w.memory.bareNode)]));
  out.push(row(["worker idle after `initialize`", ...memCells(w.memory.idle)]));
  if (w.memory.idleBundled) out.push(row(["worker idle after `initialize`, bundled (what the host starts)", ...memCells(w.memory.idleBundled)]));
  out.push(row([`worker after ${w.memory.warmUpTurns} turns`, ...memCells(w.memory.afterWarmUp)]));
  out.push(row([`worker after ${w.memory.turns} turns`, ...memCells(w.memory.afterTurns)]));
  const active = w.memory.active;
  if (active) out.push(row([`${active.workers} workers side by side, each after ${w.memory.warmUpTurns} turns (mean)`, "—", mb(active.anonKb), "—", mb(active.pssKb)]));
  if (w.memory.afterTurns) out.push("", `Worker peak RSS (VmHWM) over the turn run: ${mb(w.memory.afterTurns.hwmKb)}.`);

  if (r.startup) out.push("", ...renderStartup(r.startup));
  if (r.host) out.push("", ...renderHost(r.host));
  if (r.web) out.push("", ...renderWeb(r.web, { ms, times }));
  else if (r.webError) out.push("", `Part C (web channel) did not run: ${r.webError}`);
  return out.join("\n");
}

function renderStartup(s: StartupBreakdown): string[] {
  const out = [
    "### Where worker start-up time goes",
    "",
    `Node's own boot (process start → first line of user code): ${ms(s.nodeBootMs)}. Incremental import cost in load order (median of runs; each step includes what it pulls in that was not loaded yet):`,
    "",
    row(["module", "ms"]),
    row(["---", "---"]),
    ...s.imports.map((i) => row([`\`${i.module}\``, ms(i.ms)])),
  ];
  if (s.profile) {
    out.push(
      "",
      `CPU profile of one spawn → \`initialize\` → shutdown (${ms(s.profile.spanMs)} profiled), self time by package:`,
      "",
      row(["where", "self time"]),
      row(["---", "---"]),
      ...s.profile.byCategory.map((c) => row([c.category, ms(c.ms)])),
    );
  }
  return out;
}

function renderHost(h: HostBenchResult): string[] {
  const out = [
    "### End to end (Part B)",
    "",
    `Latency host config: \`max_concurrent_turns: ${h.config.latency.maxConcurrentTurns}\`, \`idle_shutdown_seconds: ${h.config.latency.idleShutdownSeconds}\`, \`poll_interval_ms: ${h.config.latency.pollIntervalMs}\`. Closed loop: each user waits for the reply before sending the next message; the first (cold) message of each conversation is reported apart.`,
    "",
    row(["conversations", "who", "turns", "p50", "p99", "p50 / floor", "p99 / floor", "turns/s", "cold first message p50"]),
    row(["---", "---", "---", "---", "---", "---", "---", "---", "---"]),
  ];
  for (const l of h.e2e) {
    out.push(row([l.conversations, "starling host + workers", l.host.latency.n, ms(l.host.latency.p50), ms(l.host.latency.p99), times(ratio(l.host.latency.p50, l.floor.latency.p50)), times(ratio(l.host.latency.p99, l.floor.latency.p99)), l.host.turnsPerSecond.toFixed(1), ms(l.host.cold.p50)]));
    out.push(row([l.conversations, "floor: direct telegraf bot", l.floor.latency.n, ms(l.floor.latency.p50), ms(l.floor.latency.p99), "1.00×", "1.00×", l.floor.turnsPerSecond.toFixed(1), ms(l.floor.cold.p50)]));
    const n = l.nullHost;
    if (n) out.push(row([l.conversations, "starling host + null workers (protocol and one model call only)", n.latency.n, ms(n.latency.p50), ms(n.latency.p99), times(ratio(n.latency.p50, l.floor.latency.p50)), times(ratio(n.latency.p99, l.floor.latency.p99)), n.turnsPerSecond.toFixed(1), ms(n.cold.p50)]));
  }
  if (h.e2e.some((l) => l.nullHost)) {
    out.push(
      "",
      "The null workers (test/bench/null-worker.mjs, a second host of the same build) answer each message with `turn_started` and `turn_completed` after one keep-alive POST to the same fake model, and store nothing: no journal, no session machine, no prompt. Their rows are what is left of the gap to the floor bot with a worker that costs nothing but its process and its model call.",
    );
  }
  if (h.recovery) {
    const trials = h.recovery.trials.map((t) => `${ms(t.recoveryMs)}${t.killToModelRequestMs === null ? "" : ` (model asked again ${ms(t.killToModelRequestMs)} after the kill)`}`);
    out.push("", `**Recovery after \`kill -9\` of a worker mid-turn** (reply time − kill time − ${h.recovery.modelDelayMs} ms model delay): p50 ${ms(h.recovery.recoveryMs.p50)}, max ${ms(h.recovery.recoveryMs.max)}; trials: ${trials.join("; ")}.`);
  }
  if (h.syncs) {
    const files = Object.entries(h.syncs.byFile).map(([file, n]) => `${file} ${n.toFixed(2)}`).join(", ");
    out.push("", `**fsync/fdatasync calls per turn** (1 conversation, ${h.syncs.turns} turns, counted with strace): host ${h.syncs.hostPerTurn.toFixed(2)}, worker ${h.syncs.workerPerTurn.toFixed(2)}${h.syncs.otherPerTurn ? `, other ${h.syncs.otherPerTurn.toFixed(2)}` : ""} (${files}).`);
  }
  const m = h.hostAfterLatency.memory;
  out.push("", `Host after the latency runs (${h.hostAfterLatency.workers} live workers): VmRSS ${mb(m?.rssKb ?? null)}, peak ${mb(m?.hwmKb ?? null)}. Graceful shutdown (SIGTERM → exit): ${ms(h.shutdown.ms)}, exit code ${h.shutdown.exitCode}.`);
  if (h.many) {
    const many = h.many;
    const perConversation = many.hostAtAdmitted && many.hostBefore && many.admitted > 1
      ? ((many.hostAtAdmitted.anonKb - many.hostBefore.anonKb) / (many.admitted - 1)).toFixed(0)
      : "n/a";
    const floodRows = (label: string, f: FloodRound, n: number) => [
      row([`${label}: ${f.admitted}/${n} admitted (${f.admittedSeconds.toFixed(1)} s after it began)`, mb(f.hostAtAdmitted?.rssKb ?? null), mb(f.hostAtAdmitted?.anonKb ?? null), f.workersAtAdmitted]),
      row([`${label}: ${f.replied}/${n} replied (${f.seconds.toFixed(1)} s)`, mb(f.hostAtEnd?.rssKb ?? null), mb(f.hostAtEnd?.anonKb ?? null), f.workersAtEnd]),
    ];
    out.push(
      "",
      `**Host with ${many.conversations} admitted conversations** (one message from each of ${many.conversations} private chats, sent at once${many.second ? ", then the same chats again once that flood was over" : ""}; \`max_concurrent_turns: ${h.config.many.maxConcurrentTurns}\`, \`idle_shutdown_seconds: ${h.config.many.idleShutdownSeconds}\`):`,
      "",
      row(["moment", "host VmRSS", "host private (RssAnon)", "live workers"]),
      row(["---", "---", "---", "---"]),
      row(["one conversation, before the flood", mb(many.hostBefore?.rssKb ?? null), mb(many.hostBefore?.anonKb ?? null), "—"]),
      ...floodRows("first flood", many, many.conversations),
      ...(many.second ? floodRows("second flood", many.second, many.conversations) : []),
      "",
      `Host private memory per admitted conversation ≈ ${perConversation} kB; host peak VmRSS ${mb(many.hostPeakRssKb)}; at most ${many.maxWorkers} worker processes alive at once (together ${mb(many.maxWorkersRssKb)} VmRSS, sampled every 0.5 s); first flood ${(many.replied / Math.max(many.seconds, 0.001)).toFixed(1)} first-message turns/s (each includes a worker start)${many.second ? `, second flood ${(many.second.replied / Math.max(many.second.seconds, 0.001)).toFixed(1)} turns/s` : ""}${nullFloodNote(h.nullFlood)}.`,
    );
  }
  if (h.manyError) out.push("", `The ${"many-conversations"} run failed: ${h.manyError}`);
  return out;
}

export const BEGIN = "<!-- bench:begin (generated by `pnpm bench`; edit the prose outside these markers) -->";
export const END = "<!-- bench:end -->";

/** Replaces the generated block of the doc (or appends one when the markers are missing). */
export function spliceGenerated(doc: string, generated: string): string {
  const start = doc.indexOf("<!-- bench:begin");
  const end = doc.indexOf(END);
  const block = `${BEGIN}\n${generated}\n${END}`;
  if (start >= 0 && end > start) return doc.slice(0, start) + block + doc.slice(end + END.length);
  return `${doc.trimEnd()}\n\n## Latest results\n\n${block}\n`;
}

/** The report's sentence on the null workers' flood (the same host build and config, null-worker.mjs as every worker). */
function nullFloodNote(nulls: HostBenchResult["nullFlood"]): string {
  if (!nulls) return "";
  const rate = (nulls.replied / Math.max(nulls.seconds, 0.001)).toFixed(1);
  return `; the same flood of ${nulls.conversations} new chats against a host with null workers: ${nulls.replied} answered at ${rate} first-message turns/s, admitted in ${nulls.admittedSeconds.toFixed(1)} s (a process per conversation that costs only its start and one model call)`;
}
