// Recovery after `kill -9` of a worker mid-turn, by phase: the real host + workers against the fake
// Bot API and a fake model that answers the marked request after a delay (as host-bench's recoveryPhase),
// with the host logging at debug so each trial's host log lines can be placed after the kill.
//   npx tsx test/bench/probe-recovery.ts [trials] [modelDelayMs]   (PROBE_HOST_MAIN, PROBE_WORKER: another build)
// Prints per trial: recovery (reply − kill − model delay), kill → model asked again, and the time after
// the kill of the host log lines on the restart path (exit seen, restart scheduled, worker ready, turn
// recovered, continue sent).
import { mkdtempSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { cwdOf, hostConfig, startHost, until, workerPids } from "./host-process.js";
import { sleep } from "./proc.js";
import { summarize } from "./stats.js";
import { preciseNow, replyFor, ReplyWatcher } from "./telegram-driver.js";

const trials = Number(process.argv[2] ?? 10);
const delayMs = Number(process.argv[3] ?? 1000);
const PHASES: [string, RegExp][] = [
  ["exit seen", /worker exited unexpectedly/],
  ["restart scheduled", /restarting the worker after a delay/],
  ["worker ready", /worker ready/],
  ["turn recovered", /turn recovered after a worker stop/],
  ["continue sent", /continue sent/],
];

const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body, delayMs) });
const tg = await startFakeTelegram();
const dir = mkdtempSync(join(tmpdir(), "probe-recovery-"));
const userId = 9001;
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [userId], allowedChatIds: [userId], maxConcurrentTurns: 4, idleShutdownSeconds: 120, pollIntervalMs: 0 });
config["log"] = { level: "debug" };
// PROBE_WORKER=<executable> starts that worker command instead (e.g. a script that execs node with another blob).
if (process.env["PROBE_WORKER"]) config["agent_server"] = { path: process.env["PROBE_WORKER"] };
const host = startHost(dir, config, tg.token);
const watcher = new ReplyWatcher(tg);
const logFile = join(dir, "workdir", "logs", "host.log");
const rows: { recoveryMs: number; modelMs: number | null; phases: Record<string, number | null> }[] = [];
try {
  const chat = privateChat(userId);
  tg.sendText(chat, "please answer bm-rec-warm");
  await watcher.reply("bm-rec-warm", 60_000);
  const conversations = join(dir, "workdir", "conversations");
  const workspace = realpathSync(join(conversations, readdirSync(conversations).sort().at(-1) ?? ""));
  for (let i = 0; i < trials; i++) {
    const marker = `bm-slow-${i}`;
    const hasRequest = (from: number) => model.requests.slice(from).some((r) => JSON.stringify(r.body["messages"] ?? []).includes(marker));
    const before = model.requests.length;
    await sleep(300); // let the spare that replaced the last one come up, as between the bench's trials
    tg.sendText(chat, `please answer ${marker}`);
    await until(() => hasRequest(before), 30_000, `model request for ${marker}`, 5);
    await sleep(100);
    const worker = workerPids(host.pid).find((p) => cwdOf(p) === workspace);
    if (worker === undefined) throw new Error("no worker for the conversation");
    const othersBefore = workerPids(host.pid).filter((p) => p !== worker);
    const afterKill = model.requests.length;
    const logAt = readFileSync(logFile, "utf8").length;
    const killAt = preciseNow();
    process.kill(worker, "SIGKILL");
    const replyAt = await watcher.reply(marker, 60_000);
    const retry = model.requests.slice(afterKill).find((r) => JSON.stringify(r.body["messages"] ?? []).includes(marker));
    const lines = readFileSync(logFile, "utf8").slice(logAt).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { time: number; msg: string });
    const phases: Record<string, number | null> = {};
    for (const [name, re] of PHASES) {
      const line = lines.find((l) => re.test(l.msg));
      phases[name] = line ? line.time - killAt : null;
    }
    const next = workerPids(host.pid).find((p) => cwdOf(p) === workspace);
    phases["spare"] = next !== undefined && othersBefore.includes(next) ? 1 : 0;
    rows.push({ recoveryMs: replyAt - killAt - delayMs, modelMs: retry ? retry.receivedAt - killAt : null, phases });
    const f = (n: number | null) => (n === null ? "—" : n.toFixed(0).padStart(4));
    console.log(`trial ${i}: recovery ${f(rows.at(-1)!.recoveryMs)} ms; model asked again ${f(rows.at(-1)!.modelMs)}; ` + PHASES.map(([n]) => `${n} ${f(phases[n]!)}`).join(", ") + (phases["spare"] ? " (spare)" : " (no spare)"));
  }
  const s = summarize(rows.map((r) => r.recoveryMs));
  const m = summarize(rows.flatMap((r) => (r.modelMs === null ? [] : [r.modelMs])));
  console.log(`recovery p50 ${s.p50.toFixed(0)} ms (n ${rows.length}, min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}); kill → model asked again p50 ${m.p50.toFixed(0)} ms`);
  for (const [name] of PHASES) {
    const v = rows.flatMap((r) => (r.phases[name] == null ? [] : [r.phases[name]!]));
    if (v.length) console.log(`  ${name}: p50 ${summarize(v).p50.toFixed(0)} ms after the kill`);
  }
  console.log(`load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; host log ${logFile}`);
} finally {
  await host.stop(10_000);
  watcher.stop();
  await tg.close();
  await model.close();
}
