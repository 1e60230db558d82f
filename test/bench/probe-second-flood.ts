// The bench's "second flood" in small: one chat, then a flood of N first messages, then the same N chats
// again, with the host's memory at each admission and after each flood's replies, as `pnpm bench`
// takes it (VmRSS), plus where it sits (smaps: V8's 256 kB pages, malloc's brk heap, other big regions)
// and the host's CPU per reply. Usage:
//   npx tsx test/bench/probe-second-flood.ts [chats=1000] [--pause=<s>] [--heapstats]
// --pause: quiet seconds between the first flood's last reply and the second flood (the bench has none),
// with the host's CPU in them (its idle collection);
// --heapstats: the host also prints V8's heap spaces (a `-r` preload; adds ~1 MB to the host).
// SMAPS_REGIONS=1 lists the big regions (address, perms, resident / size kB) at each point.
// The host inherits this process's environment (e.g. MALLOC_ARENA_MAX=2 to try a malloc setting).
// PROBE_HOST_FLAGS: more node/V8 flags for the host, after HOST_NODE_FLAGS (e.g. `--heap-growing-percent=50`,
// `--trace-gc`: its lines go to the host's stdout, PROBE_HOST_STDOUT=<file> keeps them); PROBE_HOST_MAIN another build.
import { createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { flood } from "./host-bench.js";
import { closeProbe, hostConfig, startHost } from "./host-process.js";
import { cpu, memoryOf, sleep } from "./proc.js";
import { anonBreakdown, formatHeapStats, heapStatsPreload, readSmaps } from "./smaps.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const pauseS = Number(args.find((a) => a.startsWith("--pause="))?.slice(8) ?? 0);
const heapStats = args.includes("--heapstats");

const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body as Record<string, unknown>, 0) });
const tg = await startFakeTelegram();
const dir = join(tmpdir(), `starling-probe-second-flood-${process.pid}`);
const ids = Array.from({ length: n + 1 }, (_, i) => 60001 + i);
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [ids[0]!], allowedChatIds: ids, maxConcurrentTurns: 8, idleShutdownSeconds: 2, pollIntervalMs: 0 });
const hostFlags = (process.env["PROBE_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);
const host = startHost(dir, config, tg.token, [...hostFlags, ...(heapStats ? ["-r", heapStatsPreload()] : [])]);
const stdoutFile = process.env["PROBE_HOST_STDOUT"];
if (stdoutFile) host.child.stdout?.pipe(createWriteStream(stdoutFile));
let heapLine: ((line: string) => void) | undefined;
if (heapStats) {
  let buf = "";
  host.child.stderr?.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith("HEAPSTATS ")) heapLine?.(line.slice(10));
    }
  });
}
const watcher = new ReplyWatcher(tg);
const mb = (kb: number) => (kb / 1024).toFixed(1);

async function show(label: string): Promise<void> {
  const m = memoryOf(host.pid);
  const b = anonBreakdown(readSmaps(host.pid));
  const big = b.big.reduce((s, r) => s + r.anon, 0);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  console.log(
    `${label.padEnd(16)} VmRSS ${mb(m?.rssKb ?? 0)} MB, RssAnon ${mb(m?.anonKb ?? 0)} (V8 pages ${mb(b.v8PagesKb)}, brk ${mb(b.brkKb)}, ` +
      `big ${mb(big)} in ${b.big.length}, rest ${mb(b.restKb)}), load ${load}`,
  );
  if (process.env["SMAPS_REGIONS"]) console.log(`${"".padEnd(16)} big: ${b.big.map((r) => `${r.start.slice(-9)} ${r.perms} ${r.anon}/${r.size}`).join(", ")}`);
  if (heapStats) {
    const stats = await new Promise<string>((res) => {
      heapLine = res;
      process.kill(host.pid, "SIGUSR2");
    });
    console.log(`${"".padEnd(16)} ${formatHeapStats(stats)}`);
  }
}

try {
  tg.sendText(privateChat(ids[0]!), "please answer bm-sf-0");
  await watcher.reply("bm-sf-0", 60_000);
  await show("before");
  for (const [i, chats] of [ids.slice(1), ids].entries()) {
    if (i === 1 && pauseS > 0) {
      const quietFrom = cpu(host.pid).self;
      await sleep(pauseS * 1000);
      await show(`after ${pauseS} s`);
      console.log(`${"".padEnd(16)} host CPU while quiet: ${cpu(host.pid).self - quietFrom} ms`);
    }
    const before = cpu(host.pid).self;
    const round = await flood(tg, watcher, host, chats, `sf${i + 1}`, 300_000, () => undefined, () => show(`${i + 1}: admitted`));
    const hostMs = cpu(host.pid).self - before;
    await show(`${i + 1}: replied`);
    console.log(`${"".padEnd(16)} ${round.replied}/${chats.length} replied in ${round.seconds.toFixed(1)} s; host CPU ${(hostMs / Math.max(1, round.replied)).toFixed(2)} ms per reply`);
  }
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
