import { setTimeout as sleep } from "node:timers/promises";
import type pino from "pino";
import { z } from "zod";
import type { ChatRef, CommandReply } from "../channel.js";
import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import { retryStoreWrite } from "../../state/store-retry.js";
import { ChatLanes } from "./chat-lanes.js";

/**
 * How long the poller waits for a command before it handles the next update. A healthy worker answers in
 * milliseconds, so the chat's later messages still come after the command (as when commands ran on the
 * poller); a stuck or starting worker (up to 15 s, 30 s) holds other chats this long at most.
 */
export const COMMAND_HOLD_MS = 1000;

const target = {
  updateId: z.number().int(),
  chat: z.object({ channelId: z.string(), chatId: z.string(), type: z.string(), title: z.string(), threadId: z.number().int().optional() }),
  user: z.object({ userId: z.string(), name: z.string() }),
};
const PendingCommandSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("command"),
    ...target,
    /** Lower-case command name without slash or @bot. */
    name: z.string(),
    args: z.string(),
    /** Sent as `/cmd@this_bot` (an unknown one in a group is answered only then). */
    addressed: z.boolean(),
  }),
  /** An inline-keyboard press (`model:<alias>` restarts the worker). */
  z.object({ kind: z.literal("callback"), ...target, data: z.string() }),
]);
export type PendingCommand = z.infer<typeof PendingCommandSchema>;

export interface PendingCommandsOptions {
  channelId: string;
  store: HostStore;
  log: pino.Logger;
  /** The command's (or press's) reply (null: none), as `UpdateAdmission` makes it; never rejects. */
  run: (command: PendingCommand) => Promise<CommandReply | null>;
  /** Queues `reply` to the chat in `tx`. */
  reply: (tx: HostTransaction, chat: ChatRef, reply: CommandReply) => void;
  wakeOutbox: () => void;
  /** The channel stops: a failed reply write is not tried again (the record stays for the next start). */
  signal: AbortSignal;
}

/**
 * Conversation commands and button presses run off the poller (ARCHITECTURE §5.1, §8 "Commands"), so a worker
 * that is slow to answer (or stuck until its answer deadline) holds only its own chat. A command is admitted by ONE batch
 * (commit point `command_pending`) holding its record and its update id; it then runs in its conversation's
 * lane (a chat's commands in order, other chats in parallel), and its reply is queued in the batch that
 * deletes the record (`command_reply`). Records left by a host that stopped or died are run again at the
 * next start: a command is answered once, its effect may happen twice (as for an update re-delivered today).
 */
export class PendingCommands {
  private readonly lanes = new ChatLanes();

  constructor(private readonly o: PendingCommandsOptions) {}

  /** Stores the record in `tx` (the caller adds the update id to the same batch). */
  put(tx: HostTransaction, command: PendingCommand): void {
    tx.put(HostKeys.pendingCommand(this.o.channelId, command.updateId), command);
  }

  /**
   * After its `command_pending` commit: runs the command. Resolves with its reply once it is answered, or
   * with undefined after the hold (it goes on in its lane).
   */
  async start(command: PendingCommand): Promise<CommandReply | null | undefined> {
    const hold = new AbortController();
    try {
      return await Promise.race([this.enqueue(command), sleep(COMMAND_HOLD_MS, undefined, { signal: hold.signal }).catch(() => undefined)]);
    } finally {
      hold.abort();
    }
  }

  /** At start: commands a previous run admitted but did not answer, in update order. */
  restore(): void {
    const { store, channelId, log } = this.o;
    for (const stored of store.list<unknown>(HostKeys.pendingCommands(channelId))) {
      const parsed = PendingCommandSchema.safeParse(stored);
      if (!parsed.success) {
        log.error({ error: parsed.error.message }, "a stored pending command is not readable; it is left unanswered");
        continue;
      }
      log.info({ chatId: parsed.data.chat.chatId, command: label(parsed.data), updateId: parsed.data.updateId }, "answering a command admitted before the restart");
      void this.enqueue(parsed.data);
    }
  }

  /** Resolves when every command queued so far is done, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.lanes.idle(timeoutMs);
  }

  /** The command's reply once it is stored (undefined when that failed until the channel stopped). */
  private enqueue(command: PendingCommand): Promise<CommandReply | null | undefined> {
    const lane = `${command.chat.chatId}:${command.chat.threadId ?? ""}`;
    return this.lanes.run(lane, () => this.answer(command)).catch((err: unknown) => {
      this.o.log.error({ chatId: command.chat.chatId, command: label(command), error: err instanceof Error ? err.message : String(err) }, "answering a command failed");
      return undefined;
    });
  }

  private async answer(command: PendingCommand): Promise<CommandReply | null | undefined> {
    const { store, log } = this.o;
    const reply = await this.o.run(command);
    const key = HostKeys.pendingCommand(this.o.channelId, command.updateId);
    const write = async () => {
      await store.commit("command_reply", (tx) => {
        if (store.get(key) === undefined) return; // answered already (by a run of an earlier start that ended late)
        tx.del(key);
        if (reply) this.o.reply(tx, command.chat, reply);
      });
    };
    const failed = (err: unknown, retryInMs: number) =>
      log.error({ chatId: command.chat.chatId, command: label(command), error: err instanceof Error ? err.message : String(err), retryInMs }, "storing a command's reply failed; trying again");
    // Tried once even while the channel stops (its stop waits for commands, as it waited for the poller's update).
    const done = await write().then(
      () => true,
      (err: unknown) => {
        failed(err, 0);
        return retryStoreWrite(write, { signal: this.o.signal, onFailure: failed });
      },
    );
    if (!done) return undefined;
    this.o.wakeOutbox();
    return reply;
  }
}

/** For the log: `status`, or `button` for a press (its data may be long). */
function label(command: PendingCommand): string {
  return command.kind === "command" ? command.name : "button";
}
