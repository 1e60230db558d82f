// `tsx test/bench/trace-turns.ts [turns] [--telegram-limits]`: one closed-loop conversation against
// the real host, printing for each turn the Bot API calls it caused with their times relative to the
// user's message (ms). Shows where an end-to-end turn's time goes (e.g. send-budget pacing).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { hostConfig, startHost } from "./host-process.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const turns = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 6);
const telegramLimits = process.argv.includes("--telegram-limits");
const dir = join(fileURLToPath(new URL("../../.bench-out/", import.meta.url)), "trace");
rmSync(dir, { recursive: true, force: true });

const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body, 0) });
const tg = await startFakeTelegram();
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [7], allowedChatIds: [7], maxConcurrentTurns: 1, idleShutdownSeconds: 120, pollIntervalMs: 0, telegramLimits });
const host = startHost(dir, config, tg.token);
const watcher = new ReplyWatcher(tg);
try {
  for (let i = 0; i < turns; i++) {
    const marker = `bm-trace-${i}`;
    const from = tg.calls().length;
    const sentAt = Date.now();
    tg.sendText(privateChat(7), `please answer ${marker}`);
    const modelBefore = model.requests.length;
    const replyAt = await watcher.reply(marker, 60_000);
    const modelAt = model.requests.slice(modelBefore).find((r) => JSON.stringify(r.body).includes(marker))?.receivedAt;
    const calls = tg
      .calls()
      .slice(from)
      .filter((c) => c.method !== "getUpdates" || c.at - sentAt < 5_000)
      .map((c) => `${c.method}@${c.startedAt - sentAt}→${c.at - sentAt}`);
    console.log(`turn ${i}: reply ${Math.round(replyAt - sentAt)} ms; model asked @${modelAt === undefined ? "?" : modelAt - sentAt}; ${calls.join(" ")}`);
  }
} finally {
  watcher.stop();
  await host.stop(10_000);
  await tg.close();
  await model.close();
}
