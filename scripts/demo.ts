// `pnpm demo`: the real starling host against a fake Telegram Bot API and a scripted model, playing a
// short conversation (greeting, two tool turns, /status, a group where only a mention starts a turn,
// /cancel of a long command, kill -9 of the worker and recovery) and printing the chat as a transcript.
// Each turn is printed once its progress panel shows its final state. Needs no credentials and no network.
import { startFakeOpenAI, type RecordedRequest, type ScriptedReply } from "../test/fakes/openai-server.js";
import { groupChat, privateChat, startFakeTelegram, user, type FakeChat, type FakeTelegram, type FakeUser, type SentMessage } from "../test/fakes/telegram-api.js";
import { startCli, tempDir, until, writeHostConfig } from "../test/e2e/host-harness.js";

type WireMessage = { role: string; content?: unknown };
const textOf = (m: WireMessage | undefined) => (typeof m?.content === "string" ? m.content : JSON.stringify(m?.content ?? ""));

function lastUserText(req: RecordedRequest): string {
  const messages = (req.body.messages ?? []) as WireMessage[];
  return textOf([...messages].reverse().find((m) => m.role === "user"));
}

/** The scripted model: answers by what the user asked and whether a tool result just came back. */
function respond(req: RecordedRequest): ScriptedReply {
  const messages = (req.body.messages ?? []) as WireMessage[];
  const toolResult = messages.at(-1)?.role === "tool" ? textOf(messages.at(-1)) : null;
  const ask = lastUserText(req);
  if (ask.includes("shopping list")) {
    return toolResult !== null
      ? { text: "I wrote **notes.txt** with your shopping list:\n\n- milk\n- bread" }
      : { toolCalls: [{ name: "file_write", arguments: { file_path: "notes.txt", content: "milk\nbread\n" } }] };
  }
  if (ask.includes("disk")) {
    if (toolResult === null) return { toolCalls: [{ name: "shell", arguments: { command: "sleep 2; df -h --output=avail,pcent / | tail -1" } }] };
    const [avail, used] = /(\S+)\s+(\d+%)/.exec(toolResult)?.slice(1) ?? ["?", "?"];
    return { text: `The root disk has **${avail}** free (${used} used).` };
  }
  if (ask.includes("release notes")) {
    const earlier = /anyone seen the release notes[^"\\]*/.test(JSON.stringify(messages));
    return { text: earlier ? "Bob asked whether anyone has seen the release notes; nobody answered yet. They are in `docs/RELEASE.md`." : "Nobody asked anything yet." };
  }
  if (ask.includes("build")) {
    return toolResult !== null ? { text: "The build finished." } : { toolCalls: [{ name: "shell", arguments: { command: "sleep 120", wait_ms: 120000 } }] };
  }
  if (ask.includes("slow")) return { delayMs: 1500, text: "Here is the slow answer: 42." };
  return { text: "Hello! I am Starling, running on your server. Ask me to do something in my workspace." };
}

const isPanel = (m: SentMessage) => (m.text ?? "").includes("⏱");
const isFinalPanel = (m: SentMessage) => (m.text ?? "").includes("⏱ Took");

/** A panel as the user saw it change: its phases (first lines, in order), then its final text. */
function panelLine(telegram: FakeTelegram, panel: SentMessage): string {
  const texts = [
    ...telegram.edits(panel.chatId).filter((e) => e.messageId === panel.messageId).flatMap((e) => [e.previousText ?? "", e.text ?? ""]),
    panel.text ?? "",
  ];
  const phases = texts.map((t) => t.split("\n")[0]!.replace(/ · step \d+$/, "")).filter(Boolean);
  const seen = phases.filter((p, i) => p !== phases[i - 1]).slice(0, -1);
  const final = (panel.text ?? "").split("\n").filter((l) => l && !l.startsWith("Send a new message"));
  return `[progress panel: ${[...seen, final.join(" · ")].join(" → ")}]`;
}

/** Prints a chat as a transcript: every bot message once, a panel once it shows its final state. */
class Transcript {
  private readonly printed = new Set<string>();
  constructor(private readonly telegram: FakeTelegram) {}

  say(line: string): void {
    process.stdout.write(`${line}\n`);
  }

  /** Like a person reading the answer and typing the next message (and a chat's send budget refilling). */
  async send(chat: FakeChat, from: FakeUser, text: string): Promise<number> {
    await new Promise((r) => setTimeout(r, 700));
    this.say(`\n${from.first_name}: ${text}`);
    return this.telegram.sendText(chat, text, { from });
  }

  private fresh(chat: FakeChat): SentMessage[] {
    return this.telegram.messages(chat.id).filter((m) => !this.printed.has(`${chat.id}:${m.messageId}`));
  }

  /** Waits for `count` new bot messages in `chat` and for every new panel to be final, then prints them. */
  async show(chat: FakeChat, count: number, what: string): Promise<void> {
    await until(() => {
      const fresh = this.fresh(chat);
      return fresh.filter((m) => !isPanel(m)).length >= count && fresh.filter(isPanel).every(isFinalPanel);
    }, 30_000, what);
    for (const m of this.fresh(chat).sort((a, b) => a.messageId - b.messageId)) {
      this.printed.add(`${chat.id}:${m.messageId}`);
      if (isPanel(m)) this.say(`  ${panelLine(this.telegram, m)}`);
      else this.say(`  Starling: ${(m.text ?? m.caption ?? `(${m.kind})`).split("\n").join("\n            ")}`);
    }
  }

  /** Waits until the newest panel of `chat` shows `phase` and prints it as it is now (it is printed again when final). */
  async showLive(chat: FakeChat, phase: RegExp): Promise<void> {
    const panel = await until(() => this.fresh(chat).filter(isPanel).find((m) => phase.test(m.text ?? "")), 15_000, `a panel showing ${phase}`);
    this.say(`  [progress panel, meanwhile: ${(panel.text ?? "").split("\n").filter((l) => l && !l.startsWith("Send a new")).join(" · ")}]`);
  }

  /** The bot read the update and wrote nothing back (a group message without a mention). */
  async silent(chat: FakeChat, updateId: number): Promise<void> {
    await until(() => this.telegram.confirmedOffset() > updateId, 10_000, "the bot to read the group message");
    await new Promise((r) => setTimeout(r, 300));
    if (this.fresh(chat).length) throw new Error("the bot answered a message that did not mention it");
    this.say("  (no reply: the bot was not mentioned; the message is kept as context)");
  }
}

async function main(): Promise<number> {
  const model = await startFakeOpenAI({ apiKey: "demo-key", responder: respond });
  const telegram = await startFakeTelegram();
  const work = tempDir("starling-demo-");
  const alice = user(1001, "Alice");
  const bob = user(1002, "Bob");
  const chat = privateChat(1001, "Alice");
  const team = groupChat(-100200, "Team");
  const config = writeHostConfig(work.dir, { apiRoot: telegram.apiRoot, modelUrl: model.url, allowedChatIds: [team.id] });
  const host = startCli(["--config", config, "--workdir", `${work.dir}/workdir`], {
    FAKE_TELEGRAM_TOKEN: telegram.token,
    FAKE_MODEL_KEY: "demo-key",
  });
  const t = new Transcript(telegram);
  const bot = `@${telegram.botUser.username}`;
  try {
    t.say("── private chat with Alice ──");
    await t.send(chat, alice, "hello");
    await t.show(chat, 2, "the admin notice and the greeting");
    await t.send(chat, alice, "please write my shopping list to notes");
    await t.show(chat, 1, "the file reply");
    await t.send(chat, alice, "how much disk space is left?");
    await t.show(chat, 1, "the disk answer");
    await t.send(chat, alice, "/status");
    await t.show(chat, 1, "the status");

    t.say(`\n── group "Team" (Alice, Bob and the bot) ──`);
    await t.silent(team, await t.send(team, bob, "has anyone seen the release notes?"));
    await t.send(team, bob, `${bot} can you help with my question above?`);
    await t.show(team, 1, "the group answer");

    t.say("\n── back in the private chat ──");
    await t.send(chat, alice, "start the long build");
    await t.showLive(chat, /Running/);
    await t.send(chat, alice, "/cancel");
    await t.show(chat, 1, "the cancel reply");
    await t.send(chat, alice, "a slow question, please");
    const [worker] = await until(() => (host.workerPids().length ? host.workerPids() : null), 10_000, "the worker");
    await new Promise((r) => setTimeout(r, 500));
    t.say(`  [demo: kill -9 of worker ${worker} while the model is answering]`);
    process.kill(worker!, "SIGKILL");
    await t.show(chat, 1, "the recovered answer");
    t.say("\nAll messages answered; the worker was recovered after kill -9.");
    return 0;
  } catch (err) {
    t.say(`\ndemo failed: ${(err as Error).message}\n--- host output ---\n${host.output()}`);
    return 1;
  } finally {
    await host.stop();
    await telegram.close();
    await model.close();
    work.cleanup();
  }
}

main().then((code) => process.exit(code));
