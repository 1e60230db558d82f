import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type {
  AdmitInput,
  AdmitOutcome,
  CallbackInput,
  CommandInput,
  CommandReply,
  ConversationController,
} from "../../src/channels/channel.js";
import { createTelegramChannel, type TelegramChannel, type TelegramChannelOptions } from "../../src/channels/telegram/telegram-channel.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import { queueOutbound } from "../../src/state/outbox.js";
import { recordUpdate, updateIsNew } from "../../src/state/update-record.js";
import { waitLimit } from "../../../../test/fakes/wait-limit.js";

export const CHANNEL_ID = "tg";

/**
 * A stand-in for the host's conversation service: a plain object that records what the channel
 * hands it. It keeps the one part of the contract the channel relies on — `admit` records the
 * update id in its own commit and reports re-delivered ids as duplicates (for an album: deletes its
 * staged parts, or reports a duplicate when they are gone; for a held update: deletes its pending
 * record, likewise) — and nothing else.
 * These tests therefore cover the channel up to the `ConversationController` interface; the real
 * conversation service, sessions and workers are out of their scope.
 */
export interface TestController extends ConversationController {
  /** Messages as the session would get them (one admitted with files: once they are downloaded). */
  admits: AdmitInput[];
  /** Admitted with files still to download, or behind such a message of the same chat (`ready`). */
  held: { seq: number; input: AdmitInput; ready: boolean }[];
  commandCalls: CommandInput[];
  callbackCalls: CallbackInput[];
  /** Holds every admit until the promise resolves (to observe the offset before admission). */
  gate: Promise<void> | null;
  /** Holds every admit after its commit (the update is stored, its offset not yet confirmed). */
  holdAfterCommit: Promise<void> | null;
  /** Holds every command and button press until the promise resolves (a worker that does not answer). */
  commandGate: Promise<void> | null;
  /** Button data the controller no longer knows (its press gets no reply, as an expired picker's). */
  inactiveButtons: Set<string>;
}

export function testController(store: HostStore, workspaceRoot: string): TestController {
  /** A message with files, or one behind such a message of its chat, waits; the others go on at once. */
  const hold = (input: AdmitInput): void => {
    const waiting = controller.held.some((h) => h.input.chat.chatId === input.chat.chatId);
    if (input.pendingFiles?.length || waiting) controller.held.push({ seq: input.updateId, input, ready: !input.pendingFiles?.length });
    else controller.admits.push(input);
  };
  const controller: TestController = {
    admits: [],
    held: [],
    commandCalls: [],
    callbackCalls: [],
    gate: null,
    holdAfterCommit: null,
    commandGate: null,
    inactiveButtons: new Set(),
    async admit(input): Promise<AdmitOutcome> {
      if (controller.gate) await controller.gate;
      const outcome = await store.commit("admit", (tx): AdmitOutcome => {
        // Albums: the parts were stored with their update ids; admitted once, with them deleted.
        if (input.staged) {
          if (input.staged.some((key) => store.get(key) === undefined)) return { kind: "duplicate" };
          for (const key of input.staged) tx.del(key);
          hold(input);
          return { kind: "admitted", conversationId: `${input.chat.channelId}-${input.chat.chatId}` };
        }
        // A message held behind its chat's command: its pending record, not its update id, says whether it is new.
        const update = { channelId: input.chat.channelId, updateId: input.updateId, ...(input.pendingKey === undefined ? {} : { pendingKey: input.pendingKey }) };
        if (!updateIsNew(store, update)) return { kind: "duplicate" };
        recordUpdate(store, tx, update);
        hold(input);
        return { kind: "admitted", conversationId: `${input.chat.channelId}-${input.chat.chatId}` };
      });
      if (controller.holdAfterCommit) await controller.holdAfterCommit;
      return outcome;
    },
    async command(input): Promise<CommandReply> {
      controller.commandCalls.push(input);
      if (controller.commandGate) await controller.commandGate;
      if (input.name === "help") return { text: "Commands: /status, /model, /help" };
      if (input.name === "model") return { text: "Pick a model:", buttons: [[{ text: "fast", data: "model:fast" }, { text: "smart", data: "model:smart" }]] };
      return { text: `status of chat ${input.chat.chatId}: ok` };
    },
    async callback(input): Promise<CommandReply | null> {
      controller.callbackCalls.push(input);
      if (controller.commandGate) await controller.commandGate;
      return input.data.startsWith("model:") && !controller.inactiveButtons.has(input.data) ? { text: `Model set to ${input.data.slice(6)}.` } : null;
    },
    commands: () => [
      { command: "status", description: "Show status" },
      { command: "model", description: "Pick the model" },
      { command: "help", description: "Help" },
    ],
    pendingDownloads(channelId) {
      return controller.held
        .filter((h) => !h.ready && h.input.chat.channelId === channelId)
        .map(({ seq, input }) => ({ conversationId: `${channelId}-${input.chat.chatId}`, seq, chatId: input.chat.chatId, files: input.pendingFiles! }));
    },
    async filesDownloaded({ conversationId, seq }, items, notice) {
      const entry = controller.held.find((h) => h.seq === seq && !h.ready);
      if (!entry) return false;
      const { input } = entry;
      await store.commit("inbound_files", (tx) => {
        if (notice) queueOutbound(tx, { channelId: input.chat.channelId, chatId: input.chat.chatId, conversationId }, { kind: "text", text: notice });
      });
      const { pendingFiles: _files, ...rest } = input;
      Object.assign(entry, { ready: true, input: { ...rest, message: { ...input.message, content: [...input.message.content, ...items] } } });
      // The chat's leading ready messages go on, in order (as the conversation service releases held messages).
      for (const h of controller.held.filter((x) => x.input.chat.chatId === input.chat.chatId)) {
        if (!h.ready) break;
        controller.held.splice(controller.held.indexOf(h), 1);
        controller.admits.push(h.input);
      }
      return true;
    },
    // Only the web channel asks (for its client retries); this controller keeps no dedupe records.
    dedupeOutcome: () => undefined,
    async workspaceFor(chat) {
      const dir = join(workspaceRoot, chat.chatId);
      mkdirSync(join(dir, "attachments", "incoming"), { recursive: true });
      return dir;
    },
  };
  return controller;
}

/** The options the tests' channels start with (short polls and backoffs), with `overrides` on top. */
export function testChannelOptions(
  api: { apiRoot: string; token: string },
  store: HostStore,
  log: pino.Logger,
  overrides: Partial<TelegramChannelOptions> = {},
): TelegramChannelOptions {
  return {
    id: CHANNEL_ID,
    token: api.token,
    apiBaseUrl: api.apiRoot,
    pollTimeoutSeconds: 1,
    pollIntervalMs: 0,
    adminUserIds: [],
    allowedChatIds: [],
    store,
    log,
    timing: { typingIntervalMs: 200, panelMinEditIntervalMs: 1000, retryBaseDelayMs: 20, retryMaxDelayMs: 200, stopTimeoutMs: 2000 },
    ...overrides,
  };
}

export interface Harness {
  dir: string;
  store: HostStore;
  controller: TestController;
  log: pino.Logger;
  /** Creates and starts a channel on the same store (call again after `stop` to simulate a restart). */
  startChannel(overrides?: Partial<TelegramChannelOptions>): Promise<TelegramChannel>;
  close(): Promise<void>;
}

export async function createHarness(api: { apiRoot: string; token: string }, defaults: Partial<TelegramChannelOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "starling-tg-"));
  const store = await HostStore.open(join(dir, "state"));
  const controller = testController(store, join(dir, "conversations"));
  const log = pino({ level: process.env.TEST_LOG ?? "silent" });
  const channels: TelegramChannel[] = [];
  return {
    dir,
    store,
    controller,
    log,
    async startChannel(overrides = {}) {
      const channel = createTelegramChannel(testChannelOptions(api, store, log, { ...defaults, ...overrides }));
      channels.push(channel);
      await channel.start(controller);
      return channel;
    },
    async close() {
      await Promise.allSettled(channels.map((c) => c.stop()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`, never before 30 s: wait-limit.ts). */
export async function eventually<T>(check: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + waitLimit(timeoutMs);
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
