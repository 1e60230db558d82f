// `pnpm demo`: the real starling host against a fake Telegram Bot API and a scripted model, playing a
// short conversation (reply, tool call, /status, /cancel of a long command, kill -9 of the worker and
// recovery) and printing the chat as a transcript. Needs no credentials and no network.
import { startFakeOpenAI, type RecordedRequest, type ScriptedReply } from "../test/fakes/openai-server.js";
import { privateChat, startFakeTelegram, user } from "../test/fakes/telegram-api.js";
import { startCli, tempDir, until, writeHostConfig } from "../test/e2e/host-harness.js";

type WireMessage = { role: string; content?: unknown };

function lastUserText(req: RecordedRequest): string {
  const messages = (req.body.messages ?? []) as WireMessage[];
  const text = (m: WireMessage) =>
    typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "");
  const last = [...messages].reverse().find((m) => m.role === "user");
  return last ? text(last) : "";
}

/** The scripted model: answers by what the user asked and whether a tool result just came back. */
function respond(req: RecordedRequest): ScriptedReply {
  const messages = (req.body.messages ?? []) as WireMessage[];
  const afterTool = messages.at(-1)?.role === "tool";
  const ask = lastUserText(req);
  if (ask.includes("notes")) {
    return afterTool
      ? { text: "I wrote **notes.txt** with your shopping list:\n\n- milk\n- bread" }
      : { toolCalls: [{ name: "file_write", arguments: { file_path: "notes.txt", content: "milk\nbread\n" } }] };
  }
  if (ask.includes("build")) {
    return afterTool ? { text: "The build finished." } : { toolCalls: [{ name: "shell", arguments: { command: "sleep 120", wait_ms: 120000 } }] };
  }
  if (ask.includes("slow")) return { delayMs: 1500, text: "Here is the slow answer: 42." };
  return { text: "Hello! I am Starling, running on your server. Ask me to do something in my workspace." };
}

async function main(): Promise<number> {
  const model = await startFakeOpenAI({ apiKey: "demo-key", responder: respond });
  const telegram = await startFakeTelegram();
  const work = tempDir("starling-demo-");
  const config = writeHostConfig(work.dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
  const host = startCli(["--config", config, "--workdir", `${work.dir}/workdir`], {
    FAKE_TELEGRAM_TOKEN: telegram.token,
    FAKE_MODEL_KEY: "demo-key",
  });
  const alice = user(1001, "Alice");
  const chat = privateChat(1001, "Alice");
  let shown = 0;
  // The progress panel (one message per turn, edited in place) is shown as its final state only.
  const isPanel = (text: string) => text.includes("⏱");
  const botMessages = () => telegram.messages(chat.id).filter((m) => !isPanel(m.text));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const show = async (count: number, what: string) => {
    await until(() => botMessages().length >= shown + count, 30_000, what);
    for (const m of botMessages().slice(shown)) say(`  Starling: ${m.text.split("\n").join("\n            ")}`);
    const panel = telegram.messages(chat.id).filter((m) => isPanel(m.text)).at(-1);
    if (panel) say(`  [progress panel: ${panel.text.split("\n").filter(Boolean).join(" · ")}]`);
    shown = botMessages().length;
  };
  const send = (text: string) => {
    say(`\nAlice: ${text}`);
    telegram.sendText(chat, text, { from: alice });
  };
  try {
    send("hello");
    await show(2, "the admin notice and the greeting");
    send("please write my shopping list to notes");
    await show(1, "the file reply");
    send("/status");
    await show(1, "the status");
    send("start the long build");
    await until(() => model.requests.some((r) => lastUserText(r).includes("build")), 10_000, "the build command to start");
    await new Promise((r) => setTimeout(r, 500));
    send("/cancel");
    await show(1, "the cancel reply");
    send("a slow question, please");
    const [worker] = await until(() => host.workerPids().length && host.workerPids(), 10_000, "the worker");
    await new Promise((r) => setTimeout(r, 500));
    say(`  [demo: kill -9 of worker ${worker} while the model is answering]`);
    process.kill(worker!, "SIGKILL");
    await show(1, "the recovered answer");
    say("\nAll messages answered; the worker was recovered after kill -9.");
    return 0;
  } catch (err) {
    say(`\ndemo failed: ${(err as Error).message}\n--- host output ---\n${host.output()}`);
    return 1;
  } finally {
    await host.stop();
    await telegram.close();
    await model.close();
    work.cleanup();
  }
}

main().then((code) => process.exit(code));
