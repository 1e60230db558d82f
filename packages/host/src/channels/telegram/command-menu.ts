import { createHash } from "node:crypto";
import type pino from "pino";
import type { HostStore } from "../../state/host-store.js";
import { isAbortError } from "./api-retry.js";
import type { BotApi } from "./bot-api.js";
import { ADMIN_COMMANDS } from "./commands.js";

export interface MenuCommand {
  command: string;
  description: string;
}

type Scope = { type: "default" } | { type: "chat"; chat_id: number };

/** Store key of the hash of the menu last set for a scope (`menu:<channel>:<scope>`). */
const menuKey = (channelId: string, scope: string) => `menu:${channelId}:${scope}`;

/**
 * The command menu (ARCHITECTURE §8): everyone sees the conversation commands; each admin's private
 * chat (`setMyCommands` with scope chat) also lists the admin commands. A scope is only sent to
 * Telegram when its list changed since the last successful call (a hash per scope in the host
 * store), so restarts cost no calls; an admin that is no longer one gets its scope deleted.
 */
export class CommandMenu {
  constructor(
    private readonly o: {
      channelId: string;
      store: HostStore;
      api: BotApi;
      log: pino.Logger;
      signal: AbortSignal;
    },
  ) {}

  async sync(conversationCommands: MenuCommand[], admins: string[]): Promise<void> {
    const everyone = conversationCommands.map(clip);
    const wanted = new Map<string, { scope: Scope; commands: MenuCommand[] }>();
    wanted.set("default", { scope: { type: "default" }, commands: everyone });
    for (const admin of admins) {
      if (!/^\d+$/.test(admin)) continue; // user ids are positive; private chat id = user id
      wanted.set(`chat:${admin}`, { scope: { type: "chat", chat_id: Number(admin) }, commands: [...everyone, ...ADMIN_COMMANDS.map(clip)] });
    }
    for (const [name, { scope, commands }] of wanted) {
      const hash = createHash("sha256").update(JSON.stringify(commands)).digest("hex");
      if (this.o.store.get<string>(menuKey(this.o.channelId, name)) === hash) continue;
      const ok = await this.call(() => this.o.api.call("setMyCommands", { commands, scope }, { signal: this.o.signal, maxAttempts: 3 }));
      if (ok) await this.remember(name, hash);
    }
    const prefix = menuKey(this.o.channelId, "chat:");
    for (const key of [...this.o.store.cache.keys()].filter((k) => k.startsWith(prefix))) {
      const name = key.slice(menuKey(this.o.channelId, "").length);
      if (wanted.has(name)) continue;
      const scope: Scope = { type: "chat", chat_id: Number(name.slice("chat:".length)) };
      const ok = await this.call(() => this.o.api.call("deleteMyCommands", { scope }, { signal: this.o.signal, maxAttempts: 3 }));
      if (ok) await this.remember(name, null);
    }
  }

  private async call(run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      if (!isAbortError(err)) this.o.log.warn({ error: this.o.api.describe(err) }, "setMyCommands failed; the command menu may be outdated");
      return false;
    }
  }

  // Not a commit point: losing it only means the menu is set once more on the next start.
  private remember(name: string, hash: string | null): Promise<void> {
    const key = menuKey(this.o.channelId, name);
    return this.o.store.commit(null, (tx) => (hash === null ? tx.del(key) : tx.put(key, hash)));
  }
}

function clip(c: MenuCommand): MenuCommand {
  return { command: c.command, description: c.description.slice(0, 256) };
}
