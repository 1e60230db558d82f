// Where a turn's wall time goes at N concurrent conversations, seen from the fakes (closed loop, warm workers):
//   npx tsx test/bench/probe-hops.ts [conversations=10] [rounds=10]
// Per measured turn, from the user's message (the fake's update queued):
//   poll     → the `getUpdates` answer that carried the update
//   admit    → the next `getUpdates` whose offset confirms it (the host admitted it durably)
//   model    → the fake model received the turn's request (hand-off, worker enqueue, worker turn start)
//   reply    → the `sendMessage` carrying the answer arrived at the fake Bot API (worker turn end, host event, outbox)
//   sent     → the fake finished answering it (the bench's end-to-end figure ends here)
//   (pollGap: a `getUpdates` answer that carried updates → the host's next `getUpdates`, i.e. one batch's admission.)
// Turns whose reply came as an edit of a progress panel (slow turns at 100) are not traced.
// Prints p50 / p90 / p99 of each hop and of the end-to-end time, the host main thread's and the workers' time on a CPU
// and waiting for one per turn (/proc/<pid>/schedstat), and the most `sendMessage` calls in flight at once. PROBE_HOST_MAIN / PROBE_HOST_FLAGS / PROBE_WORKER as in probe-throughput.ts.
// With `--trace-gc` in PROBE_HOST_FLAGS it also lists the host's full collections in the measured window (pause, when it
// ended as heard here) and how many of the slowest 1 % of turns were running during one.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { closeProbe, hostConfig, startHost, workerPids } from "./host-process.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";
import { summarize } from "./stats.js";
import { gcCostPreload } from "./gc-cost.js";

// `--levels=1x40,10x10,100x4` runs those levels one after another on one host (as the bench's latency host does) and
// reports each; the default is one level of [conversations] × [rounds].
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const levelsArg = process.argv.find((a) => a.startsWith("--levels="))?.slice(9) ?? `${args[0] ?? 10}x${args[1] ?? 10}`;
const levels = levelsArg.split(",").map((l) => l.split("x").map(Number) as [number, number]);
const conversations = Math.max(...levels.map(([n]) => n));
const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body, 1000) });
const tg = await startFakeTelegram();
const dir = join("/tmp", `probe-hops-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
const allIds = Array.from({ length: conversations }, (_, i) => 1001 + i);
const spareId = 1001 + conversations;
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [1001], allowedChatIds: [...allIds, spareId], maxConcurrentTurns: conversations, idleShutdownSeconds: 120, pollIntervalMs: 0 });
// PROBE_WORKER=<executable>: that worker command instead (e.g. a script that execs node under `nice`).
if (process.env["PROBE_WORKER"]) config["agent_server"] = { path: process.env["PROBE_WORKER"] };
const hostFlags = (process.env["PROBE_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);
// PROBE_GC_COST=<s>: every s seconds the host measures a full collection with and without compaction on its own heap (gc-cost.ts).
const gcCostEvery = Number(process.env["PROBE_GC_COST"] ?? 0);
const host = startHost(dir, config, tg.token, [...hostFlags, ...(gcCostEvery > 0 ? ["-r", gcCostPreload(gcCostEvery)] : [])]);
if (host.child.stderr) createInterface({ input: host.child.stderr }).on("line", (line) => line.startsWith("GCCOST ") && console.log(`${new Date().toISOString()} ${line}`));
/** Full collections of the host: [end (ms, when its --trace-gc line arrived here), pause ms, the line]. */
const fullGcs: [number, number, string][] = [];
/** Young-generation collections: [end, pause ms]. */
const scavenges: [number, number][] = [];
if (host.child.stdout) {
  createInterface({ input: host.child.stdout }).on("line", (line) => {
    const m = /Mark-Compact.*?MB, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
    if (m) fullGcs.push([Date.now(), Number(m[1]), line.replace(/^.*?Mark-Compact/, "Mark-Compact").slice(0, 110)]);
    const y = /Scavenge.*?MB, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
    if (y) scavenges.push([Date.now(), Number(y[1])]);
  });
}
const watcher = new ReplyWatcher(tg);

interface Turn {
  marker: string;
  updateId: number;
  sentAt: number;
  replyAt: number;
}
const turns: Turn[] = [];
const send = async (userId: number, tag: string, keep: boolean): Promise<void> => {
  const marker = `bm-hop-${tag}-${userId}`;
  const sentAt = Date.now();
  const updateId = tg.sendText(privateChat(userId), `please answer ${marker}`);
  const replyAt = await watcher.reply(marker, 120_000);
  if (keep) turns.push({ marker, updateId, sentAt, replyAt });
};
/** [on-CPU ms, waiting-for-a-CPU ms] of a process (/proc/<pid>/schedstat; zeros once it is gone). */
function sched(pid: number): [number, number] {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ").map(Number);
    return [run! / 1e6, wait! / 1e6];
  } catch {
    return [0, 0];
  }
}
const sumSched = (pids: number[]): [number, number] => pids.map(sched).reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);

async function level(n: number, rounds: number): Promise<void> {
  const ids = allIds.slice(0, n);
  turns.length = 0;
  await Promise.all(ids.map((id) => send(id, `w${n}`, false)));
  const workers = workerPids(host.pid);
  const hostBefore = sched(host.pid);
  const workersBefore = sumSched(workers);
  const t0 = Date.now();
  await Promise.all(
    ids.map(async (id) => {
      for (let r = 0; r < rounds; r++) await send(id, `r${n}-${r}`, true);
    }),
  );
  const tEnd = Date.now();
  const hostAfter = sched(host.pid);
  const workersAfter = sumSched(workers);
  // The fake records a call when it answers it: one more message (not measured) ends the long poll that confirms the last updates.
  await send(spareId, `flush${n}`, false);
  const wall = (tEnd - t0) / 1000;
  const calls = tg.calls().filter((c) => c.at >= t0);
  const polls = calls.filter((c) => c.method === "getUpdates");
  const hops: Record<string, number[]> = { poll: [], admit: [], model: [], reply: [], sent: [], e2e: [], pollGap: [] };
  for (const t of turns) {
    const answered = polls.find((p) => p.status === 200 && p.at >= t.sentAt && Number(p.params["offset"] ?? 0) <= t.updateId);
    const confirmed = polls.find((p) => Number(p.params["offset"] ?? 0) > t.updateId);
    const request = model.requests.find((r) => JSON.stringify(r.body["messages"] ?? "").includes(t.marker));
    const reply = calls.find((c) => c.method === "sendMessage" && String(c.params["text"] ?? "").includes(`re: ${t.marker}`));
    if (!answered || !confirmed || !request || !reply) {
      if (process.env["PROBE_DEBUG"]) console.log(`untraced ${t.marker}: answered ${!!answered} confirmed ${!!confirmed} request ${!!request} reply ${!!reply}`);
      continue;
    }
    hops["poll"]!.push(answered.at - t.sentAt);
    hops["admit"]!.push(confirmed.startedAt - answered.at);
    hops["model"]!.push(request.receivedAt - confirmed.startedAt);
    hops["reply"]!.push(reply.startedAt - request.receivedAt);
    hops["sent"]!.push(reply.at - reply.startedAt);
    hops["e2e"]!.push(t.replyAt - t.sentAt);
  }
  // How long the host takes to ask again after a getUpdates answer that carried updates (admission time per batch).
  const carried = polls.filter((p, i) => i + 1 < polls.length && Number(polls[i + 1]!.params["offset"] ?? 0) > Number(p.params["offset"] ?? 0));
  for (const p of carried) {
    const next = polls[polls.indexOf(p) + 1]!;
    hops["pollGap"]!.push(next.startedAt - p.at);
  }
  console.log(`${n} conv × ${rounds}: ${turns.length} turns, ${(turns.length / wall).toFixed(1)} turns/s, ${hops["e2e"]!.length} traced; getUpdates per turn ${(polls.length / turns.length).toFixed(2)}, Bot API calls per turn ${(calls.length / turns.length).toFixed(2)}`);
  // Replies and other chat sends in flight at the fake at once (the outbox drains a limited number of chats in parallel).
  const sends = calls.filter((c) => c.method === "sendMessage");
  // Millisecond timestamps: a call starting in the millisecond another ended counts as overlapping it (an upper bound).
  const edges = sends.flatMap((c) => [[c.startedAt, 1], [c.at, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let inFlight = 0;
  let maxInFlight = 0;
  for (const [, d] of edges) maxInFlight = Math.max(maxInFlight, (inFlight += d));
  console.log(`sendMessage calls in flight at once: at most ${maxInFlight} (same-millisecond overlaps counted)`);
  const per = (a: number, b: number) => ((b - a) / turns.length).toFixed(2);
  console.log(`per turn: host on CPU ${per(hostBefore[0], hostAfter[0])} ms, waiting for a CPU ${per(hostBefore[1], hostAfter[1])} ms; workers (${workers.length}) on CPU ${per(workersBefore[0], workersAfter[0])} ms, waiting ${per(workersBefore[1], workersAfter[1])} ms; load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  const fmt = (v: number) => v.toFixed(1).padStart(7);
  console.log(`hop        p50     p90     p99    mean`);
  for (const [name, values] of Object.entries(hops)) {
    const s = summarize(values);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    console.log(`${name.padEnd(8)} ${fmt(s.p50)} ${fmt(s.p90)} ${fmt(s.p99)} ${fmt(mean)}  (n ${values.length})`);
  }
  const inWindow = fullGcs.filter(([end, ms]) => end >= t0 && end - ms <= tEnd);
  if (inWindow.length || hostFlags.includes("--trace-gc")) {
    console.log(`host full collections in the window: ${inWindow.length}; pauses ${inWindow.map(([, ms]) => ms.toFixed(0)).join(", ")} ms; since the host started: ${fullGcs.length} (${fullGcs.map(([, ms]) => ms.toFixed(0)).join(", ")} ms)`);
    const young = scavenges.filter(([end]) => end >= t0 && end <= tEnd).map(([, ms]) => ms);
    console.log(`scavenges in the window: ${young.length}, ${(young.reduce((a, b) => a + b, 0) / turns.length).toFixed(2)} ms per turn, longest ${Math.max(0, ...young).toFixed(0)} ms`);
    const slow = [...turns].sort((a, b) => b.replyAt - b.sentAt - (a.replyAt - a.sentAt)).slice(0, Math.max(1, Math.ceil(turns.length / 100)));
    const during = slow.filter((t) => inWindow.some(([end, ms]) => end - ms < t.replyAt && end > t.sentAt));
    console.log(`slowest ${slow.length} turns (${slow.map((t) => (t.replyAt - t.sentAt).toFixed(0)).join(", ")} ms): ${during.length} overlap a full collection`);
  }
}

try {
  for (const [n, rounds] of levels) await level(n, rounds);
} catch (err) {
  console.error(`${(err as Error).message}\n--- host output ---\n${host.tail()}`);
  process.exitCode = 1;
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
