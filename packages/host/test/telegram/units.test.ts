import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TelegramError } from "telegraf";
import { afterEach, describe, expect, it } from "vitest";
import { AccessControl, ACCESS_TEXTS } from "../../src/channels/telegram/access.js";
import { classifyFailure, withRetries } from "../../src/channels/telegram/api-retry.js";
import { redactToken } from "../../src/channels/telegram/bot-api.js";
import { ChatLanes } from "../../src/channels/telegram/chat-lanes.js";
import { parseCommand } from "../../src/channels/telegram/commands.js";
import { inboundFiles, safeFileName } from "../../src/channels/telegram/inbound-media.js";
import type { TelegramMessage } from "../../src/channels/telegram/telegram-message.js";
import { HostStore } from "../../src/state/host-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("parseCommand", () => {
  it("reads /cmd, /cmd args and /cmd@bot", () => {
    expect(parseCommand("/status")).toEqual({ name: "status", args: "" });
    expect(parseCommand("  /Model  fast  ")).toEqual({ name: "model", args: "fast" });
    expect(parseCommand("/status@MyBot")).toEqual({ name: "status", args: "", bot: "MyBot" });
    expect(parseCommand("/remote@my_bot host /path")).toEqual({ name: "remote", args: "host /path", bot: "my_bot" });
  });
  it("leaves plain text and paths alone", () => {
    expect(parseCommand("hello /status")).toBeNull();
    expect(parseCommand("/etc/passwd is broken")).toBeNull();
    expect(parseCommand("/")).toBeNull();
  });
});

describe("withRetries", () => {
  it("waits retry_after on 429, backs off on 5xx, throws other 4xx at once", async () => {
    const faults = [
      new TelegramError({ error_code: 429, description: "Too Many Requests", parameters: { retry_after: 0 } }),
      new TelegramError({ error_code: 502, description: "Bad Gateway" }),
    ];
    let calls = 0;
    const out = await withRetries(
      async () => {
        calls++;
        const fault = faults.shift();
        if (fault) throw fault;
        return "ok";
      },
      { baseDelayMs: 1 },
    );
    expect(out).toBe("ok");
    expect(calls).toBe(3);
    await expect(
      withRetries(async () => {
        throw new TelegramError({ error_code: 403, description: "Forbidden: bot was blocked by the user" });
      }),
    ).rejects.toThrow(/403/);
  });
  it("stops waiting when aborted", async () => {
    const abort = new AbortController();
    const run = withRetries(
      async () => {
        throw new TelegramError({ error_code: 429, description: "Too Many Requests", parameters: { retry_after: 60 } });
      },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort(), 20);
    await expect(run).rejects.toThrow(/abort/);
  });
  it("classifies network failures as transient", () => {
    expect(classifyFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe("transient");
  });
});

describe("redactToken", () => {
  it("masks the token anywhere in error text", () => {
    const token = "123456:ABC-def_ghi";
    expect(redactToken(`request to http://x/bot${token}/getMe failed`, token)).not.toContain("ABC-def");
    expect(redactToken("GET /bot987:zzz_Y/file", "other")).toBe("GET /bot[token]/file");
  });
});

describe("ChatLanes", () => {
  it("runs tasks of one chat in order and chats in parallel", async () => {
    const lanes = new ChatLanes();
    const log: string[] = [];
    const slow = (tag: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => (log.push(tag), r()), ms));
    await Promise.all([lanes.run("a", slow("a1", 30)), lanes.run("a", slow("a2", 1)), lanes.run("b", slow("b1", 5))]);
    expect(log).toEqual(["b1", "a1", "a2"]);
    expect(await lanes.idle(100)).toBe(true);
  });
});

describe("inbound files", () => {
  const base: TelegramMessage = { message_id: 1, date: 0, chat: { id: 1, type: "private" } };
  it("takes the largest photo and keeps document names", () => {
    const files = inboundFiles({
      ...base,
      photo: [
        { file_id: "small", file_unique_id: "s", width: 90, height: 90 },
        { file_id: "big", file_unique_id: "b", width: 1280, height: 960 },
        { file_id: "mid", file_unique_id: "m", width: 320, height: 240 },
      ],
      document: { file_id: "d", file_unique_id: "du", file_name: "report.pdf", mime_type: "application/pdf" },
    });
    expect(files.map((f) => [f.kind, f.fileId, f.name, f.mediaType])).toEqual([
      ["photo", "big", "photo-b.jpg", "image/jpeg"],
      ["document", "d", "report.pdf", "application/pdf"],
    ]);
  });
  it("makes names safe", () => {
    expect(safeFileName("../../etc/pa:ss?wd")).toBe("__.._etc_pa_ss_wd");
    expect(safeFileName("../x")).not.toContain("/");
    expect(safeFileName("")).toBe("file");
    expect(safeFileName(`${"a".repeat(300)}.txt`)).toMatch(/^a+\.txt$/);
    expect(safeFileName(`${"a".repeat(300)}.txt`).length).toBeLessThanOrEqual(120);
  });
});

describe("AccessControl", () => {
  async function store() {
    const dir = mkdtempSync(join(tmpdir(), "starling-access-"));
    dirs.push(dir);
    return HostStore.open(dir);
  }
  const privateChat = (id: string) => ({ channelId: "tg", chatId: id, type: "private", title: `user ${id}` });
  const user = (id: string) => ({ userId: id, name: `user ${id}` });

  it("bootstraps the first private user as admin and keeps others pending", async () => {
    const s = await store();
    const access = new AccessControl("tg", s, [], []);
    const first = await s.commit(null, (tx) => access.decide(tx, privateChat("42"), user("42")));
    expect(first).toEqual({ kind: "allowed", bootstrap: true });
    expect(s.admins("tg")).toEqual(["42"]);
    const group = { channelId: "tg", chatId: "-100", type: "group", title: "G" };
    const blocked = await s.commit(null, (tx) => access.decide(tx, group, user("7")));
    expect(blocked).toEqual({ kind: "blocked", access: "pending", firstContact: true });
    const texts = s.outbound().map((i) => [i.chatId, i.payload.kind === "text" ? i.payload.text : ""]);
    expect(texts).toContainEqual(["42", ACCESS_TEXTS.bootstrapAdmin]);
    expect(texts).toContainEqual(["-100", ACCESS_TEXTS.pending]);
    expect(texts.find(([chat, text]) => chat === "42" && text!.includes("/admin_chat_approve -100"))).toBeDefined();
    // A second message within the hour gets no second notice.
    const before = s.outbound().length;
    await s.commit(null, (tx) => access.decide(tx, group, user("7")));
    expect(s.outbound().length).toBe(before);
    await s.close();
  });

  it("approves configured admins' private chats and allowed chats", async () => {
    const s = await store();
    const access = new AccessControl("tg", s, ["5"], ["-200"]);
    expect(await s.commit(null, (tx) => access.decide(tx, privateChat("5"), user("5")))).toEqual({ kind: "allowed", bootstrap: false });
    expect(await s.commit(null, (tx) => access.decide(tx, { channelId: "tg", chatId: "-200", type: "supergroup", title: "ok" }, user("9")))).toEqual({
      kind: "allowed",
      bootstrap: false,
    });
    // A non-admin's private chat is pending when an admin exists.
    expect((await s.commit(null, (tx) => access.decide(tx, privateChat("9"), user("9")))).kind).toBe("blocked");
    await s.close();
  });
});

