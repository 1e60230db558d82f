import { setTimeout as sleep } from "node:timers/promises";
import type pino from "pino";
import { z } from "zod";
import type { ChatRef, CommandReply } from "../channel.js";
import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import { retryStoreWrite } from "../../state/store-retry.js";
import { backoffDelay } from "./api-retry.js";
import { ChatLanes } from "./chat-lanes.js";
import { StoredUpdateSchema } from "./stored-update.js";

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

/** Any update of a chat that came while the chat's lane was busy: handled by the normal admission once the lane reaches it. */
const HeldUpdateSchema = z.object({ kind: z.literal("update"), updateId: target.updateId, chat: target.chat, update: StoredUpdateSchema });
export type HeldUpdate = z.infer<typeof HeldUpdateSchema>;
const PendingRecordSchema = z.union([PendingCommandSchema, HeldUpdateSchema]);
type PendingRecord = z.infer<typeof PendingRecordSchema>;

/** A chat's lane: its commands, presses and held updates run one at a time, in update order. */
const laneOf = (chat: Pick<ChatRef, "chatId" | "threadId">) => `${chat.chatId}:${chat.threadId ?? ""}`;
/** A held update that fails (not a failed reply write: those are retried until the stop) is tried this often, as the poller tries one. */
const HELD_ATTEMPTS = 5;

export interface PendingCommandsOptions {
  channelId: string;
  store: HostStore;
  log: pino.Logger;
  /** The command's (or press's) reply (null: none), as `UpdateAdmission` makes it; never rejects. */
  run: (command: PendingCommand) => Promise<CommandReply | null>;
  /** Admits a held update as the poller would have, deleting its record (`key`) in the admission's batch. */
  admitHeld: (held: HeldUpdate, key: string) => Promise<void>;
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
 *
 * While a chat's lane holds a command (or anything behind one), the chat's later updates wait in it too: each
 * is stored with its update id in one batch (`update_held`, kind `update`) and, when the lane reaches it,
 * admitted by the normal path in a batch that deletes the record, so a message sent after `/new` reaches the
 * new session. At start, held updates and commands are run again together, in update order.
 */
export class PendingCommands {
  private readonly lanes = new ChatLanes();

  constructor(private readonly o: PendingCommandsOptions) {}

  /** Stores the record in `tx` (the caller adds the update id to the same batch). */
  put(tx: HostTransaction, record: PendingCommand | HeldUpdate): void {
    tx.put(HostKeys.pendingCommand(this.o.channelId, record.updateId), record);
  }

  /** The chat's lane has a command (or an update held behind one) not done yet: its next updates are held. */
  holds(chat: Pick<ChatRef, "chatId" | "threadId">): boolean {
    return this.lanes.busy(laneOf(chat));
  }

  /** After its `update_held` commit: queues the update in its chat's lane. */
  queue(held: HeldUpdate): void {
    void this.enqueue(held);
  }

  /**
   * A command or press held behind another, run in its lane now: its reply deletes the held record (`command_reply`).
   * `instead`: the reply when the run has none (a held press was answered when it was stored, so a button that is no
   * longer active is said in the chat).
   */
  answerHeld(command: PendingCommand, instead?: CommandReply): Promise<CommandReply | null | undefined> {
    return this.answer(command, instead);
  }

  /**
   * After its `command_pending` commit: queues the command in its chat's lane and returns at once (the poller never
   * waits for a command: the chat's later updates are held behind it). The promise resolves with its reply once it
   * is answered (undefined when storing the reply failed until the channel stopped).
   */
  start(command: PendingCommand): Promise<CommandReply | null | undefined> {
    return this.enqueue(command);
  }

  /** At start: commands and held updates a previous run admitted but did not answer, in update order. */
  restore(): void {
    const { store, channelId, log } = this.o;
    for (const stored of store.list<unknown>(HostKeys.pendingCommands(channelId))) {
      const parsed = PendingRecordSchema.safeParse(stored);
      if (!parsed.success) {
        log.error({ error: parsed.error.message }, "a stored pending command is not readable; it is left unanswered");
        continue;
      }
      const record = parsed.data;
      if (record.kind === "update") log.info({ chatId: record.chat.chatId, updateId: record.updateId }, "admitting an update held before the restart");
      else log.info({ chatId: record.chat.chatId, command: label(record), updateId: record.updateId }, "answering a command admitted before the restart");
      void this.enqueue(record);
    }
  }

  /** Resolves when every command queued so far is done, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.lanes.idle(timeoutMs);
  }

  /** The command's reply once it is stored (undefined when that failed until the channel stopped, and for a held update). */
  private enqueue(record: PendingRecord): Promise<CommandReply | null | undefined> {
    return this.lanes.run(laneOf(record.chat), () => (record.kind === "update" ? this.admit(record) : this.answer(record))).catch((err: unknown) => {
      this.o.log.error({ chatId: record.chat.chatId, command: label(record), error: err instanceof Error ? err.message : String(err) }, "answering a command failed");
      return undefined;
    });
  }

  /**
   * A held update, tried like the poller tries one (a failure again after a backoff, skipped after a few: its record
   * stays, so the next start tries it again). Left to the next start once the channel stops.
   */
  private async admit(held: HeldUpdate): Promise<undefined> {
    const { store, log, signal } = this.o;
    const key = HostKeys.pendingCommand(this.o.channelId, held.updateId);
    for (let attempt = 1; !signal.aborted && store.get(key) !== undefined; attempt++) {
      try {
        await this.o.admitHeld(held, key);
        return;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (attempt >= HELD_ATTEMPTS) {
          log.error({ chatId: held.chat.chatId, updateId: held.updateId, attempts: attempt, error }, "a held telegram update could not be handled; skipping it until the next start");
          return;
        }
        log.warn({ chatId: held.chat.chatId, updateId: held.updateId, attempt, error }, "a held telegram update failed; will retry");
        await sleep(backoffDelay(attempt, 500, 10_000), undefined, { signal }).catch(() => undefined);
      }
    }
    return undefined;
  }

  private async answer(command: PendingCommand, instead?: CommandReply): Promise<CommandReply | null | undefined> {
    const { store, log } = this.o;
    const reply = (await this.o.run(command)) ?? instead ?? null;
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

/** For the log: `status`, `button` for a press (its data may be long), `update` for a held update. */
function label(record: PendingRecord): string {
  return record.kind === "command" ? record.name : record.kind === "callback" ? "button" : "update";
}
