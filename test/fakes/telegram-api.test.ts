import { Telegraf, TelegramError } from "telegraf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeTelegram, groupChat, privateChat, startFakeTelegram, user } from "./telegram-api.js";

interface ApiAnswer {
  status: number;
  body: { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after: number } };
}

/** A raw Bot API call, as any HTTP client would make it. */
async function api(fake: FakeTelegram, method: string, params: Record<string, unknown> = {}, token = fake.token): Promise<ApiAnswer> {
  const response = await fetch(`${fake.apiRoot}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as ApiAnswer["body"] };
}

const alice = privateChat(1001, "Alice");

describe("fake Telegram Bot API with a real telegraf bot", () => {
  let fake: FakeTelegram;
  let bot: Telegraf;
  let launched: Promise<void>;

  beforeEach(async () => {
    fake = await startFakeTelegram({ botUsername: "starling_test_bot" });
    bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
  });
  afterEach(async () => {
    try {
      bot.stop("test end");
    } catch {
      // not launched
    }
    await launched?.catch(() => {});
    await fake.close();
  });

  function launch(): void {
    launched = bot.launch();
    launched.catch(() => {});
  }

  it("replies to a text, edits the reply, and confirms the offset", async () => {
    bot.on("text", async (ctx) => {
      const reply = await ctx.reply(`echo: ${ctx.message.text}`);
      await ctx.telegram.editMessageText(ctx.chat.id, reply.message_id, undefined, `<b>done</b>: ${ctx.message.text}`, {
        parse_mode: "HTML",
      });
    });
    launch();
    const updateId = fake.sendText(alice, "hello");
    const sent = await fake.waitFor(() => fake.messages(alice.id).find((m) => m.editCount === 1));
    expect(sent.text).toBe("done: hello");
    expect(sent.entities).toEqual([{ type: "bold", offset: 0, length: 4 }]);
    expect(sent.parseMode).toBe("HTML");
    expect(sent.messageId).toBe(2); // the user's message was 1: ids are per chat, shared by both sides
    expect(fake.edits(alice.id)).toMatchObject([{ previousText: "echo: hello", text: "done: hello" }]);
    expect(fake.calls("getMe")).toHaveLength(1);
    await fake.waitFor(() => fake.confirmedOffset() === updateId + 1);
    expect(fake.pendingUpdates()).toBe(0);
  });

  it("takes a document upload as multipart and serves inbound files via getFile", async () => {
    bot.on("document", async (ctx) => {
      const link = await ctx.telegram.getFileLink(ctx.message.document.file_id);
      const content = await (await fetch(link)).text();
      await ctx.replyWithDocument(
        { source: Buffer.from(`got ${content}`), filename: "answer.txt" },
        {
          caption: `file ${ctx.message.document.file_name}`,
          reply_markup: { inline_keyboard: [[{ text: "OK", callback_data: "ok" }]] },
        },
      );
    });
    launch();
    fake.sendDocument(alice, { fileName: "notes.txt", mimeType: "text/plain", bytes: Buffer.from("some notes") });
    const sent = await fake.waitFor(() => fake.messages(alice.id).find((m) => m.method === "sendDocument"));
    expect(sent.uploaded).toBe(true);
    expect(sent.caption).toBe("file notes.txt");
    expect(sent.file?.fileName).toBe("answer.txt");
    expect(sent.file?.bytes.toString()).toBe("got some notes");
    expect(sent.file?.size).toBe("got some notes".length);
    // telegraf sends reply_markup as a JSON string inside the multipart body.
    expect(sent.replyMarkup).toEqual({ inline_keyboard: [[{ text: "OK", callback_data: "ok" }]] });
    const document = sent.message["document"] as { file_id: string; mime_type: string };
    expect(document.mime_type).toBe("text/plain");
    expect(fake.file(document.file_id)?.bytes.toString()).toBe("got some notes");
  });

  it("uploads photos from buffers and offers several photo sizes inbound", async () => {
    bot.on("photo", async (ctx) => {
      const largest = ctx.message.photo.at(-1)!;
      const link = await ctx.telegram.getFileLink(largest.file_id);
      const bytes = Buffer.from(await (await fetch(link)).arrayBuffer());
      await ctx.replyWithPhoto({ source: bytes, filename: "back.png" }, { caption: ctx.message.caption ?? "" });
    });
    launch();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    fake.sendPhoto(alice, { fileName: "cat.png", mimeType: "image/png", bytes: png, caption: "a cat" });
    const sent = await fake.waitFor(() => fake.messages(alice.id).find((m) => m.kind === "photo"));
    expect(sent.file?.bytes.equals(png)).toBe(true);
    expect(sent.caption).toBe("a cat");
    expect(Array.isArray(sent.message["photo"])).toBe(true);
  });

  it("delivers commands with bot_command entities, buttons and their answers", async () => {
    bot.command("menu", (ctx) =>
      ctx.reply("pick", { reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "/model a" }]] } }),
    );
    bot.action(/.*/, async (ctx) => {
      await ctx.answerCbQuery("ok");
      await ctx.reply(`chose ${ctx.match[0]}`);
    });
    await bot.telegram.setMyCommands([{ command: "menu", description: "show the menu" }]);
    launch();
    fake.sendCommand(alice, "menu@starling_test_bot");
    const menu = await fake.waitFor(() => fake.messages(alice.id).find((m) => m.text === "pick"));
    expect(menu.replyMarkup?.inline_keyboard?.[0]?.[0]?.callback_data).toBe("/model a");
    fake.pressButton(alice, menu.messageId, "/model a");
    await fake.waitFor(() => fake.messages(alice.id).find((m) => m.text === "chose /model a"));
    expect(fake.callbackAnswers()).toMatchObject([{ text: "ok" }]);
    expect(() => fake.pressButton(alice, menu.messageId, "nope")).toThrow(/no button/);
    expect(fake.commandsSet()).toMatchObject([{ commands: [{ command: "menu", description: "show the menu" }] }]);
    expect(await bot.telegram.getMyCommands()).toEqual([{ command: "menu", description: "show the menu" }]);
  });

  it("gives telegraf real error objects for injected 429 and 5xx", async () => {
    fake.registerChat(alice);
    fake.failNext("sendMessage", { status: 429, retryAfter: 7 });
    const error = await bot.telegram.sendMessage(alice.id, "hi").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramError);
    expect((error as TelegramError).code).toBe(429);
    expect((error as TelegramError).parameters?.retry_after).toBe(7);
    expect((error as TelegramError).description).toBe("Too Many Requests: retry after 7");

    fake.failNext("sendMessage", { status: 502 }, 2);
    for (let i = 0; i < 2; i++) {
      const failure = await bot.telegram.sendMessage(alice.id, "hi").catch((e: unknown) => e);
      expect((failure as TelegramError).code).toBe(502);
    }
    const ok = await bot.telegram.sendMessage(alice.id, "hi");
    expect(ok.text).toBe("hi");
    expect(fake.calls("sendMessage").map((c) => c.status)).toEqual([429, 502, 502, 200]);
  });
});

describe("fake Telegram Bot API over raw HTTP", () => {
  let fake: FakeTelegram;
  beforeEach(async () => {
    fake = await startFakeTelegram();
    fake.registerChat(alice);
  });
  afterEach(async () => {
    await fake.close();
  });

  it("answers 429 with the Bot API retry_after shape", async () => {
    fake.failNext("sendMessage", { status: 429, retryAfter: 3 });
    const answer = await api(fake, "sendMessage", { chat_id: alice.id, text: "x" });
    expect(answer).toEqual({
      status: 429,
      body: { ok: false, error_code: 429, description: "Too Many Requests: retry after 3", parameters: { retry_after: 3 } },
    });
    expect((await api(fake, "sendMessage", { chat_id: alice.id, text: "x" })).status).toBe(200);
  });

  it("holds getUpdates until an update arrives, and confirms by offset", async () => {
    const started = Date.now();
    const poll = api(fake, "getUpdates", { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const updateId = fake.sendText(alice, "wake up");
    const answer = await poll;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    // Woken by the update, not answered at the poll's 30 s timeout: 10 s is far from both (a loaded machine can be slow).
    expect(elapsed).toBeLessThan(10_000);
    const updates = answer.body.result as Array<{ update_id: number; message: { text: string; chat: { type: string } } }>;
    expect(updates.map((u) => u.update_id)).toEqual([updateId]);
    expect(updates[0]?.message.chat.type).toBe("private");

    // Not confirmed yet: delivered again.
    expect(((await api(fake, "getUpdates", {})).body.result as unknown[]).length).toBe(1);
    expect(fake.pendingUpdates()).toBe(1);
    const after = await api(fake, "getUpdates", { offset: updateId + 1, timeout: 0 });
    expect(after.body.result).toEqual([]);
    expect(fake.confirmedOffset()).toBe(updateId + 1);
    expect(fake.pendingUpdates()).toBe(0);
  });

  it("answers an empty long poll after its timeout, honours limit and allowed_updates", async () => {
    const started = Date.now();
    expect((await api(fake, "getUpdates", { timeout: 1 })).body.result).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const group = groupChat(-100, "Team");
    for (const text of ["a", "b", "c"]) fake.sendText(group, text, { from: user(7, "Bob") });
    const limited = (await api(fake, "getUpdates", { limit: 2 })).body.result as Array<{ message: { chat: { type: string } } }>;
    expect(limited).toHaveLength(2);
    expect(limited[0]?.message.chat.type).toBe("group");
    expect((await api(fake, "getUpdates", { allowed_updates: ["callback_query"] })).body.result).toEqual([]);
  });

  it("terminates an older long poll with 409 and answers a held poll promptly on close", async () => {
    const first = api(fake, "getUpdates", { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = api(fake, "getUpdates", { timeout: 30 });
    expect((await first).body).toMatchObject({ ok: false, error_code: 409 });
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = fake.close();
    expect((await second).body).toEqual({ ok: true, result: [] });
    await closing;
    // Answered at close, not at the poll's 30 s timeout: 10 s is far from both (a loaded machine can be slow).
    expect(Date.now() - started).toBeLessThan(10_000);
    fake = await startFakeTelegram(); // for afterEach
  });

  it("rejects HTML that Telegram cannot parse and renders valid HTML into entities", async () => {
    const bad = await api(fake, "sendMessage", { chat_id: alice.id, text: "<b>bold", parse_mode: "HTML" });
    expect(bad).toEqual({
      status: 400,
      body: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
      },
    });
    const unknown = await api(fake, "sendMessage", { chat_id: alice.id, text: "a <div>x</div>", parse_mode: "HTML" });
    expect(unknown.body.description).toBe('Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 2');
    const crossed = await api(fake, "sendMessage", { chat_id: alice.id, text: "<b><i>x</b></i>", parse_mode: "HTML" });
    expect(crossed.body.description).toContain('Unmatched end tag at byte offset 7, expected "</i>", found "</b>"');
    const span = await api(fake, "sendMessage", { chat_id: alice.id, text: "<span>x</span>", parse_mode: "HTML" });
    expect(span.body.description).toContain('Tag "span" must have class "tg-spoiler"');

    const good = await api(fake, "sendMessage", {
      chat_id: alice.id,
      parse_mode: "HTML",
      text: '<b>1 &lt; 2</b> &amp; <a href="https://example.com/?a=1&amp;b=2">link</a> <pre><code class="language-ts">x</code></pre> <span class="tg-spoiler">s</span>',
    });
    expect(good.status).toBe(200);
    const message = good.body.result as { text: string; entities: unknown[] };
    expect(message.text).toBe("1 < 2 & link x s");
    expect(message.entities).toEqual([
      { type: "bold", offset: 0, length: 5 },
      { type: "text_link", offset: 8, length: 4, url: "https://example.com/?a=1&b=2" },
      { type: "pre", offset: 13, length: 1, language: "ts" },
      { type: "spoiler", offset: 15, length: 1 },
    ]);
  });

  it("checks MarkdownV2 escaping", async () => {
    const bad = await api(fake, "sendMessage", { chat_id: alice.id, text: "Done. Really!", parse_mode: "MarkdownV2" });
    expect(bad.body.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
    const open = await api(fake, "sendMessage", { chat_id: alice.id, text: "*bold", parse_mode: "MarkdownV2" });
    expect(open.body.description).toBe("Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0");
    const good = await api(fake, "sendMessage", {
      chat_id: alice.id,
      text: "*bold* _it_ `a.b` [x](https://e.com/a\\)b) 1\\.5",
      parse_mode: "MarkdownV2",
    });
    expect(good.body.result).toMatchObject({
      text: "bold it a.b x 1.5",
      entities: [
        { type: "bold", offset: 0, length: 4 },
        { type: "italic", offset: 5, length: 2 },
        { type: "code", offset: 8, length: 3 },
        { type: "text_link", offset: 12, length: 1, url: "https://e.com/a)b" },
      ],
    });
  });

  it("enforces text limits in UTF-16 units", async () => {
    const empty = await api(fake, "sendMessage", { chat_id: alice.id, text: "   " });
    expect(empty.body.description).toBe("Bad Request: message text is empty");
    expect((await api(fake, "sendMessage", { chat_id: alice.id, text: "x".repeat(4096) })).status).toBe(200);
    const long = await api(fake, "sendMessage", { chat_id: alice.id, text: "x".repeat(4097) });
    expect(long).toMatchObject({ status: 400, body: { description: "Bad Request: message is too long" } });
    expect((await api(fake, "sendMessage", { chat_id: alice.id, text: "😀".repeat(2048) })).status).toBe(200);
    const emoji = await api(fake, "sendMessage", { chat_id: alice.id, text: `${"😀".repeat(2048)}x` });
    expect(emoji.body.description).toBe("Bad Request: message is too long");
    // Markup does not count, only the rendered text.
    const html = await api(fake, "sendMessage", { chat_id: alice.id, text: `<b>${"x".repeat(4096)}</b>`, parse_mode: "HTML" });
    expect(html.status).toBe(200);
  });

  it("reports edits of unknown or unchanged messages like Telegram", async () => {
    const sent = await api(fake, "sendMessage", { chat_id: alice.id, text: "v1" });
    const id = (sent.body.result as { message_id: number }).message_id;
    const same = await api(fake, "editMessageText", { chat_id: alice.id, message_id: id, text: "v1" });
    expect(same.body.description).toMatch(/^Bad Request: message is not modified/);
    const missing = await api(fake, "editMessageText", { chat_id: alice.id, message_id: 999, text: "v2" });
    expect(missing.body.description).toBe("Bad Request: message to edit not found");
    expect((await api(fake, "editMessageText", { chat_id: alice.id, message_id: id, text: "v2" })).status).toBe(200);
    expect(fake.messages(alice.id).map((m) => m.text)).toEqual(["v2"]);
    expect((await api(fake, "deleteMessage", { chat_id: alice.id, message_id: id })).body.result).toBe(true);
    expect(fake.messages(alice.id)).toEqual([]);
    expect((await api(fake, "sendMessage", { chat_id: 5, text: "x" })).body.description).toBe("Bad Request: chat not found");
  });

  it("records chat actions and rejects unknown methods, tokens and actions", async () => {
    expect((await api(fake, "sendChatAction", { chat_id: alice.id, action: "typing" })).body.result).toBe(true);
    expect(fake.chatActions(alice.id)).toMatchObject([{ chatId: alice.id, action: "typing" }]);
    expect((await api(fake, "sendChatAction", { chat_id: alice.id, action: "dancing" })).status).toBe(400);
    expect(await api(fake, "frobnicate")).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: "Not Found: method not found" },
    });
    expect(await api(fake, "getMe", {}, "1:wrong")).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: "Unauthorized" },
    });
    const me = await api(fake, "GETME");
    expect(me.body.result).toMatchObject({ is_bot: true, username: "starling_test_bot" });
  });
});
