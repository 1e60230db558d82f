// A flood of first messages, measured like the bench's host-RSS run but short: N private chats each
// send one message at once (`max_concurrent_turns` 8, `idle_shutdown_seconds` 2); prints how long the
// admission took, the host's memory then, and the first-message turns/s within a window, with the CPU
// the host and its workers used. Usage:
//   npx tsx test/bench/probe-flood.ts [chats=1000] [--window=30]
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { flood } from "./host-bench.js";
import { closeProbe, hostConfig, startHost } from "./host-process.js";
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
// PROBE_HOST_FLAGS: node flags for the host, e.g. `--heapsnapshot-signal=SIGUSR2` (PROBE_HEAP=1 sends it once admitted).
const host = startHost(dir, config, tg.token, (process.env["PROBE_HOST_FLAGS"] ?? "").split(" ").filter(Boolean));
const watcher = new ReplyWatcher(tg);
try {
  tg.sendText(privateChat(ids[0]!), "please answer bm-pf-0");
  await watcher.reply("bm-pf-0", 60_000);
  const before = cpu(host.pid);
  const round = await flood(tg, watcher, host, ids.slice(1), "pf", windowS * 1000, () => undefined);
  const after = cpu(host.pid);
  console.log(`host now: ${memoryLine(host.pid)}`);
  if (process.env["PROBE_HEAP"]) {
    process.kill(host.pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 8000));
  }
  const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  console.log(
    `${n} chats: admitted ${round.admitted} in ${round.admittedSeconds.toFixed(1)} s (host VmRSS ${((round.hostAtAdmitted?.rssKb ?? 0) / 1024).toFixed(1)} MB, ` +
      `RssAnon ${((round.hostAtAdmitted?.anonKb ?? 0) / 1024).toFixed(1)} MB); ${round.replied} replied in ${round.seconds.toFixed(1)} s = ` +
      `${(round.replied / round.seconds).toFixed(1)} first-message turns/s; CPU per reply: host ${((after.self - before.self) / Math.max(1, round.replied)).toFixed(1)} ms, ` +
      `exited workers ${((after.children - before.children) / Math.max(1, round.replied)).toFixed(1)} ms; load ${load}`,
  );
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
