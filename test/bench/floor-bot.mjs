// Floor for the end-to-end benchmark: the least a Telegram bot can do per message. telegraf long
// polling against the same fake Bot API, one fetch to the same fake model, one reply. No workers,
// no database, no durability, no progress panel. Plain JavaScript, run with `node` like the host.
// Env: BENCH_API_ROOT, BENCH_BOT_TOKEN, BENCH_MODEL_URL, BENCH_MODEL_KEY.
import { Telegraf } from "telegraf";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`floor-bot: ${name} is not set`);
  return value;
};

const modelUrl = env("BENCH_MODEL_URL");
const modelKey = env("BENCH_MODEL_KEY");
const bot = new Telegraf(env("BENCH_BOT_TOKEN"), { telegram: { apiRoot: env("BENCH_API_ROOT") } });

bot.on("text", async (ctx) => {
  const response = await fetch(modelUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${modelKey}` },
    body: JSON.stringify({ model: "fake-model", stream: false, messages: [{ role: "user", content: ctx.message.text }] }),
  });
  const completion = await response.json();
  await ctx.reply(completion.choices?.[0]?.message?.content ?? "(no answer)");
});
bot.catch((err) => process.stderr.write(`floor-bot: ${err instanceof Error ? err.message : String(err)}\n`));

const stop = () => {
  bot.stop("bench done");
  setTimeout(() => process.exit(0), 200).unref();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.on("end", stop); // the bench going away ends the bot too
process.stdin.resume();

await bot.launch({ dropPendingUpdates: false }, () => process.stdout.write("ready\n"));
