// Where the CPU of a turn goes: one host at N conversations, closed loop, with the CPU time of the
// host, of its workers and of this process (the fake Bot API and fake model) per measured turn.
//   npx tsx test/bench/probe-throughput.ts [conversations=100] [rounds=4] [--floor]
// PROBE_PROF=<dir> writes V8 CPU profiles of the host and every worker there (workers through a wrapper script named in `agent_server.path`).
// PROBE_SELF_PROF=<file> writes a V8 CPU profile of this process (the fakes and the driver) over the measured rounds.
// PROBE_WORKER=<executable> runs another worker build (PROBE_HOST_MAIN another host build); PROBE_SKILLS=<n> seeds n skills.
// PROBE_WORKER_FLAGS='<flags>' starts workers from the snapshot blob with extra node/V8 flags. PROBE_TOOL=1: a tool call in every turn.
// A development probe, not part of `pnpm bench` (which measures the same level against the floor).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { startFakeTelegram } from "../fakes/telegram-api.js";
import { startSelfProfile } from "./self-profile.js";
import { closeProbe, hostConfig, startFloorBot, startHost, workerPids } from "./host-process.js";
import { faultsOf } from "./proc.js";
import { closedLoop, replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const conversations = Number(args[0] ?? 100);
const rounds = Number(args[1] ?? 4);
const floorToo = process.argv.includes("--floor");
const ticks = 100; // USER_HZ

/** utime + stime of a process, in ms (0 when gone). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
  } catch {
    return 0;
  }
}
/** Bytes read and written through syscalls (rchar, wchar), 0 when gone. */
function io(pid: number): { r: number; w: number } {
  try {
    const text = readFileSync(`/proc/${pid}/io`, "utf8");
    return { r: Number(/rchar: (\d+)/.exec(text)?.[1] ?? 0), w: Number(/wchar: (\d+)/.exec(text)?.[1] ?? 0) };
  } catch {
    return { r: 0, w: 0 };
  }
}
/** utime and stime apart, in ms, and context switches summed over the process's threads (voluntary + involuntary). */
function kernelSplit(pid: number): { user: number; sys: number; switches: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
    let switches = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
      switches += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    }
    return { user: (Number(parts[11]) * 1000) / ticks, sys: (Number(parts[12]) * 1000) / ticks, switches };
  } catch {
    return { user: 0, sys: 0, switches: 0 };
  }
}
/** Per thread name (comm), summed over the processes: CPU ms and context switches (PROBE_THREADS=1 prints them). */
function byThread(pids: number[]): Map<string, { cpu: number; switches: number }> {
  const out = new Map<string, { cpu: number; switches: number }>();
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    tasks.sort((a, b) => Number(a) - Number(b));
    for (const [index, task] of tasks.entries()) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
        const name = task === String(pid) ? "main" : `${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}#${index}`;
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
        const switches = Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const e = out.get(name) ?? { cpu: 0, switches: 0 };
        e.cpu += ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
        e.switches += switches;
        out.set(name, e);
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return out;
}
const threadDelta = (a: Map<string, { cpu: number; switches: number }>, b: Map<string, { cpu: number; switches: number }>, turns: number): string =>
  [...b]
    .map(([name, e]) => `${name} ${((e.cpu - (a.get(name)?.cpu ?? 0)) / turns).toFixed(2)} ms ${((e.switches - (a.get(name)?.switches ?? 0)) / turns).toFixed(1)} sw`)
    .join(", ");
const sumSplit = (pids: number[]) => pids.map(kernelSplit).reduce((a, b) => ({ user: a.user + b.user, sys: a.sys + b.sys, switches: a.switches + b.switches }), { user: 0, sys: 0, switches: 0 });
const sumFaults = (pids: number[]) => pids.map(faultsOf).reduce((a, b) => ({ minor: a.minor + b.minor, major: a.major + b.major }), { minor: 0, major: 0 });
const sumIo = (pids: number[]) => pids.map(io).reduce((a, b) => ({ r: a.r + b.r, w: a.w + b.w }), { r: 0, w: 0 });
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// PROBE_TOOL=1: every turn makes one read-only tool call (file_read of a missing file) before its answer.
const toolTurns = process.env["PROBE_TOOL"] === "1";
const afterTool = (body: Record<string, unknown>): boolean => {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as { role?: string }[]) : [];
  return messages.at(-1)?.role === "tool";
};
const model = await startFakeOpenAI({
  responder: (req) =>
    toolTurns && !afterTool(req.body) ? { toolCalls: [{ name: "file_read", arguments: { file_path: "missing.txt" } }] } : replyFor(req.body, 1000),
});
const tg = await startFakeTelegram();
const dir = join("/tmp", `probe-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
const ids = Array.from({ length: conversations }, (_, i) => 1001 + i);
const config = hostConfig({
  modelUrl: model.url,
  apiRoot: tg.apiRoot,
  adminUserIds: [1001],
  allowedChatIds: ids,
  maxConcurrentTurns: conversations,
  idleShutdownSeconds: 120,
  pollIntervalMs: 0,
});
const workerFlags = process.env["PROBE_WORKER_FLAGS"];
if (workerFlags !== undefined) {
  // Workers with extra V8/Node flags, started like the host starts them (snapshot blob).
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, "worker-flags.sh");
  const blob = fileURLToPath(new URL("../../packages/worker/dist/worker.blob", import.meta.url));
  // A blob starts only under the flags it was built with (the manifest's nodeFlags).
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL("../../packages/worker/dist/main.bundle.json", import.meta.url)), "utf8")) as { nodeFlags?: string[] };
  const blobFlags = process.env["PROBE_WORKER_BUNDLE"] ? "" : (manifest.nodeFlags ?? []).join(" ");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${blobFlags} ${workerFlags} ${process.env["PROBE_WORKER_BUNDLE"] ? fileURLToPath(new URL("../../packages/worker/dist/main.bundle.js", import.meta.url)) : `--snapshot-blob ${blob}`} "$@"\n`, { mode: 0o755 });
  config["agent_server"] = { path: wrapper };
}
// PROBE_SKILLS=<n>: n stored skills (rundir/.skill), which the host copies into every conversation's workspace.
for (let i = 0; i < Number(process.env["PROBE_SKILLS"] ?? 0); i++) {
  const skill = join(dir, "workdir", "rundir", ".skill", `probe-skill-${i}`);
  mkdirSync(skill, { recursive: true });
  writeFileSync(join(skill, "SKILL.md"), `---\nname: probe-skill-${i}\ndescription: Use when the probe asks for skill ${i}\n---\n${"Step: do the thing carefully.\n".repeat(40)}`);
}
// PROBE_WORKER=<executable> starts that worker command instead (e.g. a script that execs node with a pinned copy of the blob), for a back-to-back pair of worker builds.
if (process.env["PROBE_WORKER"]) config["agent_server"] = { path: process.env["PROBE_WORKER"] };
const prof = process.env["PROBE_PROF"];
/** PROBE_HOST_FLAGS: node flags for the host, e.g. `--perf-basic-prof` for a `perf record -p <host pid>`. */
const hostFlags = (process.env["PROBE_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);
if (prof) {
  // Workers run through a wrapper that adds --cpu-prof (NODE_OPTIONS may not carry it).
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, "worker-prof.sh");
  const bundle = fileURLToPath(new URL("../../packages/worker/dist/main.bundle.js", import.meta.url));
  writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} --cpu-prof --cpu-prof-dir=${prof} ${bundle} "$@"\n`, { mode: 0o755 });
  config["agent_server"] = { path: wrapper };
}
const host = floorToo ? startFloorBot(tg.apiRoot, tg.token, model.url) : startHost(dir, config, tg.token, [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...hostFlags]);
const watcher = new ReplyWatcher(tg);
try {
  // Warm-up round inside closedLoop creates the conversations; measure CPU around the measured rounds only.
  const warm = await closedLoop(tg, watcher, { label: "pw", userIds: ids, rounds: 1, timeoutMs: 120_000 });
  console.log(`warm-up: ${warm.turnsPerSecond.toFixed(1)} turns/s`);
  const workers = workerPids(host.pid);
  const before = { host: cpuMs(host.pid), workers: workers.reduce((s, p) => s + cpuMs(p), 0), self: selfCpu(), calls: tg.calls().length, model: model.requests.length, hostIo: io(host.pid), workerIo: sumIo(workers), hostK: kernelSplit(host.pid), workerK: sumSplit(workers), hostF: faultsOf(host.pid), workerF: sumFaults(workers) };
  const threadsBefore = process.env["PROBE_THREADS"] ? { host: byThread([host.pid]), workers: byThread(workers) } : undefined;
  const selfProf = process.env["PROBE_SELF_PROF"] ? await startSelfProfile() : undefined;
  const t0 = performance.now();
  const r = await closedLoop(tg, watcher, { label: "pm", userIds: ids, rounds, timeoutMs: 120_000 });
  const wall = performance.now() - t0;
  const selfSummary = await selfProf?.stop(process.env["PROBE_SELF_PROF"]!);
  const after = { host: cpuMs(host.pid), workers: workers.reduce((s, p) => s + cpuMs(p), 0), self: selfCpu(), calls: tg.calls().length, model: model.requests.length, hostIo: io(host.pid), workerIo: sumIo(workers), hostK: kernelSplit(host.pid), workerK: sumSplit(workers), hostF: faultsOf(host.pid), workerF: sumFaults(workers) };
  // closedLoop's own warm-up round is included in the window: count its turns too.
  const turns = (rounds + 1) * conversations;
  const per = (a: number, b: number) => ((b - a) / turns).toFixed(2);
  console.log(`${floorToo ? "floor" : "host"} ${conversations} conv × ${rounds}: ${r.turnsPerSecond.toFixed(1)} turns/s (measured rounds), p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms; window ${(wall / 1000).toFixed(1)} s`);
  console.log(`CPU ms per turn: host ${per(before.host, after.host)}, workers ${per(before.workers, after.workers)} (${workers.length}), fakes+driver ${per(before.self, after.self)}`);
  console.log(`Bot API calls per turn ${((after.calls - before.calls) / turns).toFixed(2)}, model calls per turn ${((after.model - before.model) / turns).toFixed(2)}`);
  console.log(
    `user / sys ms per turn: host ${per(before.hostK.user, after.hostK.user)} / ${per(before.hostK.sys, after.hostK.sys)}, workers ${per(before.workerK.user, after.workerK.user)} / ${per(before.workerK.sys, after.workerK.sys)}; context switches per turn: host ${per(before.hostK.switches, after.hostK.switches)}, workers ${per(before.workerK.switches, after.workerK.switches)}`,
  );
  console.log(
    `page faults per turn (minor / major): host ${per(before.hostF.minor, after.hostF.minor)} / ${per(before.hostF.major, after.hostF.major)}, workers ${per(before.workerF.minor, after.workerF.minor)} / ${per(before.workerF.major, after.workerF.major)}`,
  );
  if (threadsBefore) {
    console.log(`host threads per turn: ${threadDelta(threadsBefore.host, byThread([host.pid]), turns)}`);
    console.log(`worker threads per turn: ${threadDelta(threadsBefore.workers, byThread(workers), turns)}`);
  }
  const kb = (a: number, b: number) => ((b - a) / turns / 1024).toFixed(1);
  console.log(`kB per turn: host read ${kb(before.hostIo.r, after.hostIo.r)} written ${kb(before.hostIo.w, after.hostIo.w)}; workers read ${kb(before.workerIo.r, after.workerIo.r)} written ${kb(before.workerIo.w, after.workerIo.w)}`);
  if (selfSummary) console.log(selfSummary);
  const methods = new Map<string, number>();
  for (const c of tg.calls().slice(before.calls)) methods.set(c.method, (methods.get(c.method) ?? 0) + 1);
  console.log(`by method: ${[...methods].map(([m, n]) => `${m} ${(n / turns).toFixed(2)}`).join(", ")}`);
} catch (err) {
  console.error(`${(err as Error).message}\n--- host output ---\n${host.tail()}`);
  process.exitCode = 1;
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
