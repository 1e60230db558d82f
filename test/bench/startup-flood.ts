// A flood of first messages: N private chats each send one message at once to the real host
// (`max_concurrent_turns` 8, `idle_shutdown_seconds` 2, like the bench's 1 000-chat flood); every
// message needs a worker start. Prints first-message turns/s and the CPU the host and its workers
// used per reply (utime+stime of every process under the host, summed as they exit: /proc of the host's
// cumulative children, plus the live ones at the end). Usage:
//   npx tsx test/bench/startup-flood.ts [chats=200] [--spares=N] [--worker=<file.js>]
// --worker runs that file (agent_server.path) instead of what the host picks (the start-up snapshot).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { closeProbe, hostConfig, startHost, until, workerPids } from "./host-process.js";
import { cpu } from "./proc.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const spares = args.find((a) => a.startsWith("--spares="))?.slice(9);
const worker = args.find((a) => a.startsWith("--worker="))?.slice(9);

const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body as Record<string, unknown>, 0) });
const tg = await startFakeTelegram();
const dir = join(tmpdir(), `starling-flood-${process.pid}`);
mkdirSync(dir, { recursive: true });
const ids = Array.from({ length: n + 1 }, (_, i) => 30001 + i);
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [ids[0]!], allowedChatIds: ids, maxConcurrentTurns: 8, idleShutdownSeconds: 2, pollIntervalMs: 0 });
const workers = config["workers"] as Record<string, unknown>;
if (spares !== undefined) workers["warm_spares"] = Number(spares);
if (worker) config["agent_server"] = { path: worker };
const host = startHost(dir, config, tg.token);
const watcher = new ReplyWatcher(tg);
try {
  tg.sendText(privateChat(ids[0]!), "please answer bm-fl-0");
  await watcher.reply("bm-fl-0", 60_000);
  await new Promise((r) => setTimeout(r, 3000)); // the first worker goes idle and stops
  const before = cpu(host.pid);
  const t0 = Date.now();
  let replied = 0;
  let maxWorkers = 0;
  const sampler = setInterval(() => (maxWorkers = Math.max(maxWorkers, workerPids(host.pid).length)), 250);
  for (const id of ids.slice(1)) tg.sendText(privateChat(id), `please answer bm-fl-${id}`);
  await Promise.all(ids.slice(1).map((id) => watcher.reply(`bm-fl-${id}`, 300_000).then(() => replied++)));
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const live = workerPids(host.pid).reduce((sum, p) => sum + (() => { try { return cpu(p).self; } catch { return 0; } })(), 0);
  const after = cpu(host.pid);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  console.log(
    `${n} chats (${worker ? `worker ${worker}` : "host's worker"}, warm_spares ${spares ?? "default"}): ${replied} replied in ${seconds.toFixed(1)} s = ${(replied / seconds).toFixed(1)} first-message turns/s; ` +
      `CPU per reply: host ${((after.self - before.self) / replied).toFixed(1)} ms, workers ${((after.children - before.children + live) / replied).toFixed(1)} ms; at most ${maxWorkers} workers; load ${load}`,
  );
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
