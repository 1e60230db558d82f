import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { AbortedError } from "../../src/channels/telegram/api-retry.js";
import type { BotApi } from "../../src/channels/telegram/bot-api.js";
import { Poller } from "../../src/channels/telegram/poller.js";
import type { TelegramUpdate } from "../../src/channels/telegram/telegram-message.js";
import { createHarness, eventually, type Harness } from "./harness.js";

const silent = pino({ level: "silent" });

describe("poller watchdog", () => {
  it("aborts a getUpdates that hangs past the long-poll timeout and polls again", async () => {
    let calls = 0;
    // A stand-in for the Bot API whose first getUpdates never answers (a dead connection).
    const api = {
      describe: (err: unknown) => String(err),
      call: (_method: string, payload: { offset: number }, options: { signal?: AbortSignal }) => {
        calls++;
        if (calls === 1) {
          return new Promise((_resolve, reject) => options.signal?.addEventListener("abort", () => reject(new AbortedError())));
        }
        if (calls === 2) return Promise.resolve([{ update_id: payload.offset, message: undefined }]);
        return new Promise((resolve) => setTimeout(() => resolve([]), 50));
      },
    } as unknown as BotApi;
    const handled: TelegramUpdate[] = [];
    const poller = new Poller({
      api,
      log: silent,
      pollTimeoutSeconds: 0,
      pollIntervalMs: 0,
      watchdogGraceSeconds: 0.3,
      lastUpdateId: () => 10,
      handle: async (u) => {
        handled.push(u);
      },
    });
    poller.start();
    await eventually(() => handled.length === 1, 3000, "update after watchdog restart");
    expect(handled[0]!.update_id).toBe(11);
    await poller.stop();
  });

  it("retries an update whose admission failed, without moving the offset past it", async () => {
    const offsets: number[] = [];
    const api = {
      describe: (err: unknown) => String(err),
      call: (_method: string, payload: { offset: number }) => {
        offsets.push(payload.offset);
        return new Promise((resolve) => setTimeout(() => resolve(payload.offset === 1 ? [{ update_id: 1 }] : []), 10));
      },
    } as unknown as BotApi;
    let attempts = 0;
    const poller = new Poller({
      api,
      log: silent,
      pollTimeoutSeconds: 0,
      pollIntervalMs: 0,
      lastUpdateId: () => 0,
      handle: async () => {
        attempts++;
        if (attempts < 2) throw new Error("disk full");
      },
    });
    poller.start();
    await eventually(() => offsets.includes(2), 5000, "offset 2");
    await poller.stop();
    expect(attempts).toBe(2);
    expect(offsets.slice(0, 2)).toEqual([1, 1]);
  });

  it("says in the log when one update holds polling, naming its command", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) }));
    const slowNotes = () => lines.filter((l) => l["msg"] === "a telegram update is still being handled; later updates wait");
    let served = false;
    const api = {
      describe: (err: unknown) => String(err),
      call: (_method: string, payload: { offset: number }) => {
        if (served) return new Promise((resolve) => setTimeout(() => resolve([]), 20));
        served = true;
        return Promise.resolve([{ update_id: payload.offset, message: { message_id: 1, date: 0, chat: { id: 5, type: "private" }, text: "/continue please" } }]);
      },
    } as unknown as BotApi;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let done = false;
    const poller = new Poller({ api, log, pollTimeoutSeconds: 0, pollIntervalMs: 0, slowUpdateMs: 50, lastUpdateId: () => 0, handle: () => held.then(() => void (done = true)) });
    poller.start();
    await eventually(() => slowNotes().length >= 2, 3000, "two notes while the update is held");
    expect(slowNotes()[0]).toMatchObject({ level: 40, updateId: 1, kind: "message /continue" });
    release();
    await eventually(() => done, 3000, "the update handled");
    await poller.stop();
  });
});

describe("channel lifecycle", () => {
  let fake: FakeTelegram;
  let h: Harness;
  afterEach(async () => {
    await h?.close();
    await fake?.close();
  });

  it("stops promptly while a long poll is held", async () => {
    fake = await startFakeTelegram();
    // A 10-minute long poll and a 10-minute stop budget: the test's own time limit fails a stop that waits for the poll.
    h = await createHarness(fake, { adminUserIds: ["42"], pollTimeoutSeconds: 600, timing: { stopTimeoutMs: 600_000 } });
    const channel = await h.startChannel();
    await new Promise((r) => setTimeout(r, 300)); // the first getUpdates is now held by the fake
    await channel.stop();
  });

  it("never logs the bot token, even when Telegram is unreachable", async () => {
    fake = await startFakeTelegram();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    h = await createHarness(fake, { adminUserIds: ["42"], log: pino({ level: "trace" }, sink) });
    const dead = "http://127.0.0.1:9"; // nothing listens on the discard port
    const channel = await h.startChannel({ apiBaseUrl: dead, timing: { retryBaseDelayMs: 10, retryMaxDelayMs: 20, stopTimeoutMs: 200 } });
    await eventually(() => lines.some((l) => l.includes("not reachable")), 5000, "unreachable warning");
    await channel.stop();
    const secret = fake.token.split(":")[1]!;
    expect(lines.join("\n")).not.toContain(secret);
  });

  it("fails start with a clear error when the token is rejected", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["42"] });
    await expect(h.startChannel({ token: "999:wrong-token" })).rejects.toThrow(/bot token was rejected/);
    expect(privateChat(1).id).toBe(1);
  });
});

describe("STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS (test-only)", () => {
  afterEach(() => {
    delete process.env.STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS;
  });

  it("a value that is not whole ms from 1 to 5000 stops the poller from being made, naming the variable", () => {
    for (const bad of ["0", "9000", "1.5", "soon"]) {
      process.env.STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS = bad;
      expect(() => new Poller({ api: {} as BotApi, log: pino({ level: "silent" }), pollTimeoutSeconds: 0, pollIntervalMs: 0, lastUpdateId: () => 0, handle: async () => {} })).toThrow(
        /STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS must be a whole number of ms from 1 to 5000/,
      );
    }
    process.env.STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS = "500";
    expect(() => new Poller({ api: {} as BotApi, log: pino({ level: "silent" }), pollTimeoutSeconds: 0, pollIntervalMs: 0, lastUpdateId: () => 0, handle: async () => {} })).not.toThrow();
  });
});
