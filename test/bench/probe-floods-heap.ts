// Leak check for the host over repeated floods of the same chats: after each flood is answered, a heap
// snapshot of the host (live objects) and its memory. Development probe, not part of `pnpm bench`.
//   npx tsx test/bench/probe-floods-heap.ts [chats=200] [floods=3]   (snapshots land in the cwd)
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { startFakeTelegram } from "../fakes/telegram-api.js";
import { flood } from "./host-bench.js";
import { closeProbe, hostConfig, startHost } from "./host-process.js";
import { memoryLine } from "./proc.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2);
const n = Number(args[0] ?? 200);
const floods = Number(args[1] ?? 3);
const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body as Record<string, unknown>, 0) });
const tg = await startFakeTelegram();
const dir = join(tmpdir(), `starling-probe-floods-${process.pid}`);
const ids = Array.from({ length: n }, (_, i) => 50001 + i);
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [ids[0]!], allowedChatIds: ids, maxConcurrentTurns: 8, idleShutdownSeconds: 2, pollIntervalMs: 0 });
const host = startHost(dir, config, tg.token, ["--heapsnapshot-signal=SIGUSR2"]);
const watcher = new ReplyWatcher(tg);
try {
  for (let i = 1; i <= floods; i++) {
    const round = await flood(tg, watcher, host, ids, `f${i}`, 300_000, () => undefined);
    await new Promise((r) => setTimeout(r, 5000)); // workers idle out (2 s)
    process.kill(host.pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 6000));
    console.log(`flood ${i}: ${round.replied}/${n} replied; host ${memoryLine(host.pid)}`);
  }
} finally {
  await closeProbe({ watcher, host, fakes: [tg, model], dir });
}
