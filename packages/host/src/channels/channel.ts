import type { ChatMessage, ContentItem } from "@starling/protocol";
import type { HostTransaction } from "../state/host-store.js";
import type { PendingFile } from "../state/records.js";
import type { AlbumPartInfo } from "./album-layout.js";

/** A chat as a channel sees it. Ids are strings so any channel can use them. */
export interface ChatRef {
  channelId: string;
  chatId: string;
  /** `private`, `group`, `supergroup`, `channel` (Telegram's chat types). */
  type: string;
  title: string;
  /** Forum topic (Telegram `message_thread_id`): a topic is its own conversation. */
  threadId?: number;
}

export interface UserRef {
  userId: string;
  name: string;
}

/** A user message that passed access control, ready to be admitted durably. */
export interface AdmitInput {
  chat: ChatRef;
  user: UserRef;
  /** Channel-unique id of the source update; recorded in the admission batch so it is admitted once. */
  updateId: number;
  /** Host-assigned id the session dedupes on (e.g. `telegram-main:12345`). */
  messageId: string;
  message: ChatMessage;
  /**
   * A group message that did not address the bot (`group_trigger: "mention"`): stored durably as
   * context and given to the model with the next message that does; it starts no turn.
   */
  contextOnly?: boolean;
  /**
   * Store keys of the parts this message was assembled from (an album), each admitted earlier with
   * its update id: they are deleted in this admission's batch, and when they are gone already the
   * message is a duplicate (its update ids are recorded, so `updateId` is not checked).
   */
  staged?: string[];
  /**
   * Idempotency for channels without monotonic update ids (web: the client's message id): a host-store
   * key written in the admission batch; when it exists already the message is a duplicate and
   * `updateId` is not checked. A limit's refusal is recorded in it too (`dedupeOutcome`).
   */
  dedupeKey?: string;
  /**
   * Telegram: the update waited behind its chat's command in this pending record (channels/telegram/pending-commands.ts),
   * stored with its update id: the record is deleted in the admission batch, and when it is gone already the message
   * is a duplicate (`updateId` is not checked: it was committed when the update was stored).
   */
  pendingKey?: string;
  /**
   * Files of the message the channel downloads after the admission (so a slow download holds no other
   * chat): the message is admitted held and reaches its session once `filesDownloaded` stored them.
   */
  pendingFiles?: PendingFile[];
  /**
   * The channel's id for the message within its chat (Telegram `message_id`) and the text the model gets
   * from it: recorded in the admission batch so that an edit of it can be found (`edit`).
   */
  source?: { sourceId: number; text: string; files?: string[] };
  /**
   * The message is an album: its parts in order, each recorded like `source` (naming the album's item) so
   * that an edit of one part finds it, and kept on the item (`InboundItem.albumParts`). The message's text
   * item is `albumText` of their captions and its files are theirs in that order.
   */
  albumParts?: AlbumPartInfo[];
}

/** A user's edit of a message (Telegram `edited_message`, ARCHITECTURE §8 "Edited messages"). */
export interface EditInput {
  chat: ChatRef;
  user: UserRef;
  /** The edit's own update id (a new one: the message id stays the same). */
  updateId: number;
  /** The edited message's id within its chat (as in `AdmitInput.source`). */
  sourceId: number;
  /** The message's text as it reads now (as the model would get it). */
  text: string;
  /** Host id of the edit, used when it replaces a waiting message or becomes a new input. */
  messageId: string;
  /** When the user edited it (ISO time). */
  time: string;
  /** A group edit that does not address the bot: kept as context unless its message is still waiting. */
  contextOnly: boolean;
  /** As AdmitInput.pendingKey: the edit waited behind its chat's command in this pending record. */
  pendingKey?: string;
  /**
   * The message's files as they are now (Telegram: a photo or document message). When they differ from the
   * admitted ones (the user replaced the photo), they replace the waiting message's files, or the edit is a new
   * input carrying them; downloaded like a message's either way.
   */
  files?: PendingFile[];
}

export type EditOutcome =
  /** The message was still waiting for its session: its text (and files) replaced (one answer, to the new version). */
  | { kind: "replaced"; conversationId: string }
  /** No admitted message is known by that id (never admitted: refused, blocked, a command; or too old): ignored. */
  | { kind: "unknown" }
  /** The text did not change (e.g. only an attachment was replaced): ignored. */
  | { kind: "unchanged" }
  /** Admitted as a new input telling the model what changed (or kept as group context, refused, duplicate). */
  | AdmitOutcome;

export type AdmitOutcome =
  | { kind: "admitted"; conversationId: string }
  | { kind: "duplicate" }
  /** Kept as group context (AdmitInput.contextOnly) for the next triggered message. */
  | { kind: "context"; conversationId: string }
  /** Admitted but held until the user picks a model; the host already queued the picker message. */
  | { kind: "awaiting_model"; conversationId: string }
  /** Over a limit (config `limits`): the update id is committed and a notice queued, nothing reaches a session. */
  | { kind: "refused"; conversationId: string; reason: "chat_rate" | "queue_full" };

export interface CommandInput {
  chat: ChatRef;
  user: UserRef;
  updateId: number;
  /** Lower-case command name without the slash or @botname (`status`, `cancel`, …). */
  name: string;
  /** Text after the command, trimmed. */
  args: string;
}

export interface InlineButton {
  text: string;
  data: string;
}

/** What to answer a command with. Every command answers (including "nothing to cancel"). */
export interface CommandReply {
  text: string;
  buttons?: InlineButton[][];
}

export interface CallbackInput {
  chat: ChatRef;
  user: UserRef;
  updateId: number;
  data: string;
}

/** What a channel needs from the host: implemented by the conversation service. */
export interface ConversationController {
  /** Writes the message, its update id and (if new) the conversation in one sync batch, then hands it to the session. */
  admit(input: AdmitInput): Promise<AdmitOutcome>;
  /**
   * Several admissions in ONE sync batch (commit point `admit`): each step runs inside the batch's build
   * (e.g. the access decision, writing into `tx`) and returns the message to admit, or null when it
   * handled its update itself. Outcomes in step order (null for those steps).
   */
  /**
   * An edit, in ONE sync batch (commit point `edit`) with its update id: replaces the text of the message
   * when it is still waiting for its session, else admits it as a new input quoting the change.
   */
  edit?(input: EditInput): Promise<EditOutcome>;
  admitBatch?(steps: ((tx: HostTransaction) => AdmitInput | null)[]): Promise<(AdmitOutcome | null)[]>;
  /**
   * What the admission recorded under `dedupeKey` (AdmitInput.dedupeKey) came to: `refused` by a limit (in
   * the same batch as its notice), `taken` (admitted, held or kept as context), undefined when none was.
   */
  dedupeOutcome(dedupeKey: string): "refused" | "taken" | undefined;
  /** Conversation commands: model, status, continue, cancel, sandbox, remote, new, help. */
  command(input: CommandInput): Promise<CommandReply>;
  /** Inline-keyboard presses (e.g. `model:<alias>`); null when the data is not the host's. */
  callback(input: CallbackInput): Promise<CommandReply | null>;
  /**
   * Names and descriptions of the conversation commands (for routing, setMyCommands and /help);
   * `hidden` ones are answered but not listed in the command menu (e.g. not available yet).
   */
  commands(): { command: string; description: string; hidden?: boolean }[];
  /** Workspace folder of the chat's conversation (created on demand), for inbound file downloads. */
  workspaceFor(chat: ChatRef): Promise<string>;
  /**
   * The files of a message admitted with `pendingFiles` are downloaded (or failed: `items` then holds
   * text telling the model what is missing): ONE sync batch (commit point `inbound_files`) stores them
   * in the held message, queues `notice` to the chat when given, and passes the conversation's leading
   * ready held messages to the session. False when the message is no longer held (handled before) or
   * no longer waits for these files (an edit replaced them meanwhile: the new ones are downloaded next).
   */
  filesDownloaded(download: PendingDownload, items: ContentItem[], notice: string | null): Promise<boolean>;
  /** Messages of the channel admitted with `pendingFiles` whose files are not stored yet (also from before a restart). */
  pendingDownloads(channelId: string): PendingDownload[];
}

/** A held message waiting for its files (ConversationController.pendingDownloads). */
export interface PendingDownload {
  conversationId: string;
  seq: number;
  chatId: string;
  threadId?: number;
  files: PendingFile[];
}

export type TurnPhase = "queued" | "calling_model" | "running_tool" | "compacting" | "retrying" | "done" | "failed" | "cancelled";

/** Live activity of a turn, for the typing indicator and the progress panel. Not durable. */
export interface TurnActivity {
  chat: ChatRef;
  conversationId: string;
  /** Unique per turn: `<sessionId>@<generation>#<turnId>` (generation: /new count). The panel's message id is stored under it. */
  turnKey: string;
  model: string;
  phase: TurnPhase;
  toolName?: string;
  step?: number;
  startedAt: number;
  queuePosition?: number;
  detail?: string;
  /** The turn's plan (update_plan), one `✓`/`▶`/`○` line per step. */
  plan?: string[];
  /** On the turn's start (`turn_started`): the worker message ids of the inputs it answers. */
  messageIds?: string[];
}

/**
 * A piece of assistant text as the model streams it (the worker's ephemeral `assistant_delta`). Not
 * durable: the final reply still comes through the outbox. Each model call of a turn (a new step or a
 * retry, announced by a `calling_model`/`retrying` activity) streams its text from the start.
 */
export interface AssistantText {
  chat: ChatRef;
  conversationId: string;
  turnKey: string;
  text: string;
}

/** What the host needs from a channel. */
export interface Channel {
  readonly id: string;
  start(controller: ConversationController): Promise<void>;
  /** Stop taking updates, finish in-flight sends (bounded), release resources. */
  stop(): Promise<void>;
  /** New items were written to the outbox for this channel. */
  wakeOutbox(): void;
  /** A turn's state changed (typing + progress panel; finished phases finalise the panel). */
  turnActivity(activity: TurnActivity): void;
  /**
   * Assistant text as it streams. A channel that has this gets its foreground sessions started with
   * `initialize.streamDeltas` (Telegram has not: it shows only final messages).
   */
  assistantDelta?(delta: AssistantText): void;
}
