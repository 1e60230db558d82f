import type pino from "pino";
import type { Channel, ChatRef, ConversationController, TurnActivity } from "../channel.js";
import type { HostStore } from "../../state/host-store.js";
import { AccessControl } from "./access.js";
import { UpdateAdmission } from "./admission.js";
import { InboundDownloads } from "./inbound-downloads.js";
import { isAbortError, sleep, telegramCode } from "./api-retry.js";
import { BotApi } from "./bot-api.js";
import { ChatLanes } from "./chat-lanes.js";
import { AlbumCollector } from "./album.js";
import { CommandMenu } from "./command-menu.js";
import { DEFAULT_DOWNLOAD_LIMIT_BYTES } from "./inbound-media.js";
import { OutboxSender } from "./outbox-sender.js";
import { Poller } from "./poller.js";
import { DEFAULT_PANEL_DELAY_MS, ProgressPanels } from "./progress-panel.js";
import { ReplySender } from "./reply-sender.js";
import { SendBudget, type SendLimits } from "./send-budget.js";
import { SendHistory } from "./send-history.js";
import { TYPING_DELAY_MS, TypingIndicator } from "./typing.js";

export interface TelegramChannelOptions {
  /** Channel id from the config (`telegram-main`); prefixes conversation ids. */
  id: string;
  /** Bot token. Never logged. */
  token: string;
  /** Bot API root, e.g. `https://api.telegram.org` or a local fake. */
  apiBaseUrl: string;
  pollTimeoutSeconds: number;
  /** Pause between two `getUpdates` calls (0 for none). */
  pollIntervalMs: number;
  /** Pre-seeded admins (Telegram user ids). */
  adminUserIds: string[];
  /** Chats approved without asking an admin. */
  allowedChatIds: string[];
  store: HostStore;
  log: pino.Logger;
  /** Largest inbound file downloaded (default 20 MB, the Bot API limit). */
  downloadLimitBytes?: number;
  /** Which group messages start a turn: those addressing the bot (`mention`, default) or `all` (config `group_trigger`). */
  groupTrigger?: "mention" | "all";
  /** A turn shows a progress panel once it has run this long (config `progress_panel_delay_ms`; default 1000, 0 = at once). */
  panelDelayMs?: number;
  /** Telegram's flood limits the send budget keeps to (default TELEGRAM_SEND_LIMITS; tests scale them down). */
  sendLimits?: SendLimits;
  /** Tuning for tests: typing repeat, panel edit spacing, send backoff, stop budget. */
  timing?: {
    typingIntervalMs?: number;
    panelMinEditIntervalMs?: number;
    /** How long the parts of an album are collected after the first one (default 1500 ms). */
    albumWindowMs?: number;
    retryBaseDelayMs?: number;
    retryMaxDelayMs?: number;
    stopTimeoutMs?: number;
    watchdogGraceSeconds?: number;
  };
}

/** The Telegram channel (ARCHITECTURE §8): long polling, access control, commands, outbox, typing, panels. */
export function createTelegramChannel(options: TelegramChannelOptions): TelegramChannel {
  return new TelegramChannel(options);
}

export class TelegramChannel implements Channel {
  readonly id: string;
  private readonly log: pino.Logger;
  private readonly api: BotApi;
  private readonly access: AccessControl;
  private readonly lanes = new ChatLanes();
  private readonly sendAbort = new AbortController();
  private readonly stopAbort = new AbortController();
  private controller: ConversationController | null = null;
  private poller: Poller | null = null;
  private outbox: OutboxSender | null = null;
  private panels: ProgressPanels | null = null;
  private typing: TypingIndicator | null = null;
  private booting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private botUsername: string | null = null;
  private botId: number | null = null;
  private menu: CommandMenu | null = null;
  private albums: AlbumCollector | null = null;
  private downloads: InboundDownloads | null = null;
  private history: SendHistory | null = null;
  private admission: UpdateAdmission | null = null;
  /** Admins the command menus were last set for (a first admin appears at runtime). */
  private menuAdmins = "";

  constructor(private readonly options: TelegramChannelOptions) {
    this.id = options.id;
    this.log = options.log;
    const t = options.timing ?? {};
    const retry = { baseDelayMs: t.retryBaseDelayMs, maxDelayMs: t.retryMaxDelayMs };
    this.api = new BotApi(options.token, options.apiBaseUrl, options.log, retry, new SendBudget(options.sendLimits));
    this.access = new AccessControl(options.id, options.store, options.adminUserIds, options.allowedChatIds);
  }

  /** The bot's @username once `getMe` answered. */
  get username(): string | null {
    return this.botUsername;
  }

  async start(controller: ConversationController): Promise<void> {
    if (this.controller) throw new Error(`telegram channel ${this.id} is already started`);
    this.controller = controller;
    const { store, log } = this.options;
    const t = this.options.timing ?? {};
    const replies = new ReplySender(this.api, log);
    this.history = new SendHistory({
      store,
      channelId: this.id,
      budget: this.api.budget,
      onPruneFailed: (error) => log.warn({ error: String(error) }, "could not delete expired send-time records; the next start tries again"),
    });
    this.outbox = new OutboxSender({
      channelId: this.id,
      store,
      api: this.api,
      replies,
      lanes: this.lanes,
      history: this.history,
      log,
      workspaceFor: (chatId, conversationId, threadId) => this.workspaceOf(chatId, conversationId, threadId),
      beforeSend: (chatId) => this.panels?.sendDue(chatId),
      retry: { baseDelayMs: t.retryBaseDelayMs, maxDelayMs: t.retryMaxDelayMs },
    });
    this.panels = new ProgressPanels({ store, api: this.api, lanes: this.lanes, log, signal: this.sendAbort.signal, roomSignal: this.stopAbort.signal, minEditIntervalMs: t.panelMinEditIntervalMs, delayMs: this.options.panelDelayMs });
    this.albums = new AlbumCollector({ channelId: this.id, store, controller, log, windowMs: t.albumWindowMs ?? 1500, filesAdmitted: () => this.downloads?.wake() });
    this.menu = new CommandMenu({ channelId: this.id, store, api: this.api, log, signal: this.stopAbort.signal });
    // A turn's progress shows at once when its panel does (`progress_panel_delay_ms: 0`).
    const typingDelayMs = Math.min(TYPING_DELAY_MS, this.options.panelDelayMs ?? DEFAULT_PANEL_DELAY_MS);
    this.typing = new TypingIndicator({ api: this.api, log, signal: this.sendAbort.signal, intervalMs: t.typingIntervalMs, delayMs: typingDelayMs });
    this.downloads = new InboundDownloads({
      channelId: this.id,
      api: this.api,
      controller,
      log,
      limitBytes: this.options.downloadLimitBytes ?? DEFAULT_DOWNLOAD_LIMIT_BYTES,
      workspaceFor: (chatId, conversationId, threadId) => this.workspaceOf(chatId, conversationId, threadId),
      wakeOutbox: () => this.wakeOutbox(),
    });
    const admission = (this.admission = new UpdateAdmission({
      channelId: this.id,
      store,
      api: this.api,
      access: this.access,
      controller,
      log,
      botUsername: () => this.botUsername,
      botId: () => this.botId,
      groupTrigger: this.options.groupTrigger ?? "mention",
      wakeOutbox: () => this.wakeOutbox(),
      albums: this.albums,
      downloads: this.downloads,
      signal: this.stopAbort.signal,
    }));
    this.poller = new Poller({
      api: this.api,
      log,
      pollTimeoutSeconds: this.options.pollTimeoutSeconds,
      pollIntervalMs: this.options.pollIntervalMs,
      lastUpdateId: () => store.lastUpdateId(this.id),
      handle: async (update) => {
        await admission.handle(update);
        if (this.access.admins().join(",") !== this.menuAdmins) void this.registerCommands();
      },
      handleBatch: async (updates) => {
        const admitted = await admission.handleBatch(updates);
        if (admitted && this.access.admins().join(",") !== this.menuAdmins) void this.registerCommands();
        return admitted;
      },
      watchdogGraceSeconds: t.watchdogGraceSeconds,
    });
    // Learn who we are before polling (needed for /cmd@botname). A rejected token fails the start;
    // an unreachable Telegram does not: the boot keeps retrying in the background.
    const first = await this.getMe(3).catch((err: unknown) => err);
    if (first instanceof Error) {
      const code = telegramCode(first);
      if (code === 401 || code === 404) {
        await this.stop();
        throw new Error(`telegram channel ${this.id}: the bot token was rejected (${this.api.describe(first)})`);
      }
      log.warn({ error: this.api.describe(first) }, "Telegram is not reachable yet; polling starts once it is");
    }
    await this.history.restore();
    this.outbox.start();
    this.panels.restoreEnded(this.id);
    this.albums.restore();
    admission.commands.restore(); // commands admitted but not answered before a stop or crash
    this.downloads.wake(); // files a previous run did not get to
    this.booting = this.boot(first instanceof Error).catch((err: unknown) => {
      if (!isAbortError(err)) log.error({ error: this.api.describe(err) }, "telegram channel failed to start polling");
    });
  }

  private async boot(needGetMe: boolean): Promise<void> {
    if (needGetMe) await this.getMe(Number.POSITIVE_INFINITY);
    if (this.stopAbort.signal.aborted) return;
    await this.registerCommands();
    if (this.stopAbort.signal.aborted) return;
    this.poller?.start();
    this.log.info({ bot: this.botUsername ? `@${this.botUsername}` : undefined, offset: this.options.store.lastUpdateId(this.id) + 1 }, "telegram polling started");
  }

  private async getMe(maxAttempts: number): Promise<void> {
    const me = await this.api.call("getMe", {}, { signal: this.stopAbort.signal, maxAttempts });
    this.botUsername = me.username ?? null;
    this.botId = me.id;
  }

  /** Sets the command menus that changed (everyone's, and each admin's with the admin commands). */
  private async registerCommands(): Promise<void> {
    const admins = this.access.admins();
    this.menuAdmins = admins.join(",");
    const listed = (this.controller?.commands() ?? []).filter((c) => !c.hidden);
    await this.menu?.sync(listed, admins);
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      const budget = this.options.timing?.stopTimeoutMs ?? 5000;
      this.stopAbort.abort();
      this.downloads?.stop(); // the messages stay held; the next start downloads their files
      this.typing?.stopAll();
      // Commands run off the poller: waited for like the update being handled (a late one runs again at the next start).
      await Promise.all([this.poller?.stop(budget), this.booting, this.admission?.commands.idle(budget)]);
      this.albums?.stop(); // parts stay stored; the next start sends them
      // Show pending panel states, let in-flight sends finish and flush the outbox once (bounded).
      this.panels?.flushAll();
      const deadline = Date.now() + budget;
      await this.outbox?.flush(budget);
      await this.lanes.idle(Math.max(0, deadline - Date.now()));
      this.sendAbort.abort();
      this.panels?.stopTimers();
      await this.outbox?.stop();
      this.history?.stop();
      await Promise.race([this.lanes.idle(1000), sleep(1000)]);
      this.api.close();
      this.log.info({ unsent: this.outbox ? !this.outbox.empty : false }, "telegram channel stopped");
    })();
    return this.stopping;
  }

  wakeOutbox(): void {
    this.outbox?.wake();
  }

  turnActivity(activity: TurnActivity): void {
    if (activity.chat.channelId !== this.id || this.stopAbort.signal.aborted) return;
    this.typing?.update(activity);
    this.panels?.update(activity);
  }

  private async workspaceOf(chatId: string, conversationId: string, threadId: number | undefined): Promise<string | null> {
    if (!this.controller || !conversationId) return null;
    const record = this.options.store.chat(this.id, chatId);
    const chat: ChatRef = { channelId: this.id, chatId, type: record?.type ?? "private", title: record?.title ?? "", ...(threadId === undefined ? {} : { threadId }) };
    return this.controller.workspaceFor(chat);
  }
}
