// Bad input at the host (issue #7; worker frames: test/conformance/bad-input.test.ts, rpc-flood.test.ts): malformed
// updates, a giant message, a file over the download limit, lone UTF-16 surrogates, an attachment named
// to escape the workspace and unknown commands. Each gets a clear answer or is ignored; nothing is lost; the host keeps serving.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat } from "../fakes/telegram-api.js";
import { markersIn } from "./history.js";

const chat = privateChat(8601, "Bad");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: (req) => {
      const text = JSON.stringify(req.body.messages ?? []);
      return { text: `Answer to ${markersIn(text).at(-1) ?? "nothing"} (${text.length} chars seen).` };
    },
    config: { adminUserIds: [chat.id] },
  });
});

afterAll(async () => {
  await e2e?.close();
});

const answered = (marker: string) => e2e.waitText(chat.id, new RegExp(`Answer to ${marker}\\b`), 40_000);

it("ignores malformed updates and keeps answering", async () => {
  e2e.telegram.pushUpdate({ message: { message_id: 1, date: 0 } as never }); // no chat
  e2e.telegram.pushUpdate({ message: { message_id: 2, date: 0, chat: { id: "x" }, text: 42 } as never });
  e2e.telegram.pushUpdate({ edited_message: { message_id: 3, date: 0, chat, text: "edited" } as never });
  e2e.telegram.pushUpdate({ some_future_update: { x: 1 } } as never);
  e2e.send(chat, "after the junk [m:b1-1]");
  await answered("m:b1-1");
  await e2e.until(() => e2e.telegram.pendingUpdates() === 0, "every update confirmed (junk too)");
  expect(e2e.host!.child.exitCode).toBeNull();
});

it("answers a giant message and one with lone surrogates", async () => {
  e2e.send(chat, `${"word ".repeat(40_000)}[m:b1-2]`);
  await answered("m:b1-2");
  e2e.send(chat, `broken \ud800 surrogates \udc00 here [m:b1-3]`);
  await answered("m:b1-3");
});

it("keeps an attachment whose name tries to escape inside the workspace", async () => {
  e2e.telegram.sendDocument(chat, { fileName: "../../../../escape.txt", mimeType: "text/plain", bytes: Buffer.from("hi"), caption: "see file [m:b1-4]" });
  await answered("m:b1-4");
  const conversations = join(e2e.workdir, "conversations");
  expect(existsSync(join(e2e.workdir, "escape.txt")) || existsSync(join(e2e.dir, "escape.txt"))).toBe(false);
  const incoming = readdirSync(conversations).flatMap((c) => {
    const dir = join(conversations, c, "attachments", "incoming");
    return existsSync(dir) ? readdirSync(dir) : [];
  });
  expect(incoming.some((name) => name.includes("escape.txt")), JSON.stringify(incoming)).toBe(true);
});

it("answers an unknown command with a hint, and a command flood without losing the next message", async () => {
  expect(await e2e.ask(chat, "/frobnicate now")).toMatch(/Unknown command \/frobnicate/);
  for (let i = 0; i < 8; i++) e2e.send(chat, `/nosuch${i}`);
  e2e.send(chat, "still there? [m:b1-5]");
  await answered("m:b1-5");
  expect(e2e.replies(chat.id).filter((m) => /Unknown command \/nosuch/.test(m.text ?? "")).length).toBe(8);
}, 60_000);

it("answers a file larger than Telegram's 20 MB download limit with a clear reply, and its caption still reaches the model", async () => {
  const bytes = Buffer.alloc(21 * 1024 * 1024, 0x61);
  e2e.telegram.sendDocument(chat, { fileName: "huge.log", mimeType: "text/plain", bytes, caption: "read this [m:b1-6]" });
  await answered("m:b1-6");
  const notice = await e2e.waitText(chat.id, /could not download your file/);
  expect(notice.text).toMatch(/huge\.log \(document\): the file is larger than the 20 MB download limit/);
  expect(e2e.host!.child.exitCode).toBeNull();
}, 60_000);
