import { join } from "node:path";
import type pino from "pino";
import type { AssistantText, Channel, ConversationController, TurnActivity } from "../channel.js";
import type { HostStore } from "../../state/host-store.js";
import { conversationDir } from "../../conversations/workspace.js";
import { EventHub } from "./event-stream.js";
import { apiRoutes } from "./routes-api.js";
import { openAIRoutes } from "./routes-openai.js";
import { pageRoutes } from "./routes-page.js";
import { WebConversations, workerMessagePrefix } from "./web-conversations.js";
import { WebLog } from "./web-log.js";
import { WebOutbox } from "./web-outbox.js";
import { createWebServer } from "./web-server.js";

export interface WebChannelOptions {
  id: string;
  /** `host:port` to listen on. */
  bindAddr: string;
  /** The bearer token (value of the channel's token_env). Never logged. */
  token: string;
  workdir: string;
  store: HostStore;
  log: pino.Logger;
  /** Chat model aliases and their model names (GET /api/models, the page's picker). */
  models: () => { alias: string; model: string }[];
}

/** The web channel (ARCHITECTURE §11): HTTP API, OpenAI-compatible endpoint and chat page. */
export class WebChannel implements Channel {
  readonly id: string;
  private readonly hub = new EventHub();
  private webLog: WebLog | null = null;
  private outbox: WebOutbox | null = null;
  private app: ReturnType<typeof createWebServer> | null = null;
  private stopping: Promise<void> | null = null;
  /** The address actually bound (port 0 picks one). */
  address = "";

  constructor(private readonly o: WebChannelOptions) {
    this.id = o.id;
  }

  async start(controller: ConversationController): Promise<void> {
    const { store, log } = this.o;
    const webLog = (this.webLog = await WebLog.open(join(this.o.workdir, "state", "web", this.id)));
    const workspaceOf = (conversationId: string) => conversationDir(this.o.workdir, conversationId);
    const written = (conversationId: string) => this.hub.written(conversationId);
    const convs = new WebConversations(this.id, store, controller, webLog, log, written, () => this.o.models().map((m) => m.alias), workspaceOf);
    this.outbox = new WebOutbox({ channelId: this.id, store, webLog, log, workspaceOf, written });
    await convs.admitPending();
    this.outbox.wake();

    const app = (this.app = createWebServer(this.o.token, log));
    apiRoutes(app, convs, this.hub, this.o.models);
    openAIRoutes(app, convs, this.hub, this.o.token);
    pageRoutes(app);
    const { host, port } = splitAddr(this.o.bindAddr);
    try {
      this.address = await app.listen({ host, port });
    } catch (err) {
      throw new Error(`web channel ${this.id}: cannot listen on ${this.o.bindAddr}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    log.info({ address: this.address }, "web channel listening");
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.app?.close();
      await this.outbox?.stop();
      await this.webLog?.close();
    })();
    return this.stopping;
  }

  wakeOutbox(): void {
    this.outbox?.wake();
  }

  turnActivity(activity: TurnActivity): void {
    if (activity.chat.channelId !== this.id) return;
    const prefix = workerMessagePrefix(this.id, activity.conversationId);
    const answers = activity.messageIds?.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length));
    this.hub.progress(activity, answers);
  }

  assistantDelta(delta: AssistantText): void {
    if (delta.chat.channelId === this.id) this.hub.delta(delta);
  }
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}
