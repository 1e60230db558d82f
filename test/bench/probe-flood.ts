// A flood of first messages, measured like the bench's host-RSS run but short: N private chats each
// send one message at once (`max_concurrent_turns` 8, `idle_shutdown_seconds` 2); prints how long the
// admission took, the host's memory then, and the first-message turns/s within a window, with the CPU
// the host and its workers used. Usage:
//   npx tsx test/bench/probe-flood.ts [chats=1000] [--window=30]
// PROBE_WORKERS=1 starts every worker through a wrapper script (the shipped command, see workerCommand)
// that records its pid, and prints how many workers were started per reply (spares included);
// PROBE_PROF=<dir> adds --cpu-prof (V8 CPU profiles of every worker and of the host in <dir>).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { flood } from "./host-bench.js";
import { closeProbe, hostConfig, startHost, workerPids } from "./host-process.js";
import { cpu, memoryLine } from "./proc.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const windowS = Number(args.find((a) => a.startsWith("--window="))?.slice(9) ?? 30);

const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body as Record<string, unknown>, 0) });
const tg = await startFakeTelegram();
const dir = join(tmpdir(), `starling-probe-flood-${process.pid}`);
const ids = Array.from({ length: n + 1 }, (_, i) => 40001 + i);
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [ids[0]!], allowedChatIds: ids, maxConcurrentTurns: 8, idleShutdownSeconds: 2, pollIntervalMs: 0 });
const prof = process.env["PROBE_PROF"];
const starts = join(dir, "worker-starts");
if (prof || process.env["PROBE_WORKERS"]) {
  mkdirSync(dir, { recursive: true });
  const command = JSON.parse(
    execFileSync(process.execPath, ["-e", `import("./packages/host/dist/worker-path.js").then(m=>console.log(JSON.stringify(m.workerCommand(undefined))))`], { encoding: "utf8" }),
  ) as string[];
  const [node, ...rest] = command;
  const wrapper = join(dir, "worker.sh");
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${starts}\nexec ${node} ${prof ? `--cpu-prof --cpu-prof-dir=${prof} ` : ""}${rest.join(" ")} "$@"\n`, { mode: 0o755 });
  config["agent_server"] = { path: wrapper };
  console.log(`workers: ${readFileSync(wrapper, "utf8").split("\n")[2]}`);
}
// PROBE_WORKER=<executable>: that worker command instead (e.g. a wrapper that records what the host sends).
if (process.env["PROBE_WORKER"]) config["agent_server"] = { path: process.env["PROBE_WORKER"] };
const startCount = () => (existsSync(starts) ? readFileSync(starts, "utf8").split("\n").filter(Boolean).length : 0);
// PROBE_HOST_FLAGS: node flags for the host, e.g. `--heapsnapshot-signal=SIGUSR2` (PROBE_HEAP=1 sends it once admitted).
const hostFlags = [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...(process.env["PROBE_HOST_FLAGS"] ?? "").split(" ").filter(Boolean)];
const host = startHost(dir, config, tg.token, hostFlags);
const watcher = new ReplyWatcher(tg);
try {
  tg.sendText(privateChat(ids[0]!), "please answer bm-pf-0");
  await watcher.reply("bm-pf-0", 60_000);
  const before = cpu(host.pid);
  const selfBefore = process.cpuUsage();
  const startsBefore = startCount();
  const round = await flood(tg, watcher, host, ids.slice(1), "pf", windowS * 1000, () => undefined);
  const after = cpu(host.pid);
  const self = process.cpuUsage(selfBefore);
  console.log(`fakes+driver (this process): ${((self.user + self.system) / 1000 / Math.max(1, round.replied)).toFixed(1)} ms CPU per reply`);
  console.log(`host now: ${memoryLine(host.pid)}`);
  if (existsSync(starts)) console.log(`workers started: ${startCount() - startsBefore} for ${round.replied} replies (${((startCount() - startsBefore) / Math.max(1, round.replied)).toFixed(2)} per reply)`);
  if (process.env["PROBE_HEAP"]) {
    process.kill(host.pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 8000));
  }
  const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  if (existsSync(starts)) {
    // Once the idle workers are shut down (only the warm spare left), their whole lives are in the host's children CPU.
    const t = Date.now();
    while (workerPids(host.pid).length > 1 && Date.now() - t < 30_000) await new Promise((r) => setTimeout(r, 200));
    const settled = cpu(host.pid);
    const started = startCount() - startsBefore;
    console.log(
      `after idle shutdown (${workerPids(host.pid).length} worker left): exited workers ${((settled.children - before.children) / Math.max(1, round.replied)).toFixed(1)} ms per reply, ` +
        `${((settled.children - before.children) / Math.max(1, started - workerPids(host.pid).length)).toFixed(1)} ms per exited worker; host ${((settled.self - before.self) / Math.max(1, round.replied)).toFixed(1)} ms per reply`,
    );
  }
  console.log(
    `${n} chats: admitted ${round.admitted} in ${round.admittedSeconds.toFixed(1)} s (host VmRSS ${((round.hostAtAdmitted?.rssKb ?? 0) / 1024).toFixed(1)} MB, ` +
      `RssAnon ${((round.hostAtAdmitted?.anonKb ?? 0) / 1024).toFixed(1)} MB); ${round.replied} replied in ${round.seconds.toFixed(1)} s = ` +
      `${(round.replied / round.seconds).toFixed(1)} first-message turns/s; CPU per reply: host ${((after.self - before.self) / Math.max(1, round.replied)).toFixed(1)} ms, ` +
      `exited workers ${((after.children - before.children) / Math.max(1, round.replied)).toFixed(1)} ms; load ${load}`,
  );
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
