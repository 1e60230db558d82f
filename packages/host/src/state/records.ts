import type { ChatMessage } from "@starling/protocol";
import type { AlbumPartInfo } from "../channels/album-layout.js";
import type { TurnActivity } from "../channels/channel.js";

export type SandboxMode = "subprocess" | "bubblewrap";

/** A conversation's `/remote` setting: one SSH host and folder, or an alias the model picks per call. */
export type RemoteSetting = { mode: "fixed"; host: string; path: string } | { mode: "selectable" };

/** A chat's conversation: its workspace, model choice and session bindings. */
export interface ConversationRecord {
  id: string;
  channelId: string;
  chatId: string;
  /** Forum topic of the conversation (absent: the whole chat). */
  threadId?: number;
  index: number;
  createdAt: string;
  /** Model alias in use; null until chosen when several chat models exist. */
  modelAlias: string | null;
  /** A message waiting for a model choice is held in the inbound queue; this marks that a picker was shown. */
  pendingModelChoice: boolean;
  sandboxOverride: SandboxMode | null;
  /** Where file tools and shell run (ARCHITECTURE §9.1); null = off. Old records hold `{host, path}` (fixed): read them with conversationRemote(). */
  remote: RemoteSetting | null;
  /** `/reasoning <effort>` for this conversation, over the model config's (absent: the config's; reasoning-command.ts). */
  reasoningEffort?: string;
  /** `/mcp enable|disable <server>` for this conversation: server name → on/off, over the config's `enabled`. */
  mcpOverrides?: Record<string, boolean>;
  /** Current foreground session id and how many `/new` generations came before. */
  foreground: { sessionId: string; generation: number };
  archivedSessions: string[];
}

export type ChatAccess = "approved" | "pending" | "rejected";

export interface ChatRecord {
  channelId: string;
  chatId: string;
  access: ChatAccess;
  title: string;
  type: string;
  firstSeenAt: string;
  /** The supergroup this basic group became (chat-migration.ts): what was still waiting from the old id goes there. */
  migratedTo?: string;
}

/** The host-store value under an admission's `AdmitInput.dedupeKey`, written in its admission batch. */
export interface DedupeRecord {
  messageId: string;
  /** A limit refused this admission (inbound-limits.ts): nothing reached a session. */
  refused?: "chat_rate" | "queue_full";
}

/** An admitted user message not yet acknowledged by its session. */
export interface InboundItem {
  seq: number;
  conversationId: string;
  sessionId: string;
  messageId: string;
  message: ChatMessage;
  admittedAt: string;
  /**
   * Files the channel still has to download into the conversation's workspace (Telegram). While set,
   * the item stays held (`held:` keys) and so do the conversation's later messages; the download's
   * commit (`inbound_files`) adds the files to `message` and releases the item (ARCHITECTURE §8).
   */
  pendingFiles?: PendingFile[];
  /**
   * How many content items, at the end of `message`, are its downloaded files (or the notes saying one could
   * not be downloaded), set when they are stored: an edit that replaces the files while the message waits
   * takes them out (message-edits.ts). Absent on items without files and on those stored by older hosts.
   */
  fileItems?: number;
  /**
   * An album's parts in order (AdmitInput.albumParts): which caption and which of its files each part is, so an
   * edit of a part replaces that part's only (conversations/album-edits.ts). Absent on other items and on albums
   * admitted by older hosts.
   */
  albumParts?: AlbumPartInfo[];
  /**
   * With `pendingFiles`: the album part (its `sourceId`) whose new files an edit put in place of its old ones;
   * they go in that part's place among the album's files already downloaded (counted by `fileItems`), not after them.
   */
  pendingPart?: number;
}

/** A file announced by a channel message, not downloaded yet. */
export interface PendingFile {
  kind: string;
  fileId: string;
  name: string;
  mediaType: string;
  size?: number;
}

export type OutboundPayload =
  | {
      kind: "text";
      text: string;
      html?: string;
      replyMarkup?: unknown;
      /**
       * Set on a turn's final message (the web channel shows failures with a continue button).
       * `messageIds`: the inbound messages the turn answered (event-replies.ts); absent when the worker did not say.
       */
      turnEnd?: { outcome: "completed" | "failed" | "interrupted"; canContinue: boolean; messageIds?: string[] };
    }
  | { kind: "file"; path: string; as: "photo" | "document"; caption?: string }
  | { kind: "panel"; turnKey: string; text: string };

/** A message to a chat. Removed only after Telegram accepted it (ARCHITECTURE §5.5). */
export interface OutboundItem {
  seq: number;
  channelId: string;
  chatId: string;
  /** Forum topic the message goes to (absent: the chat itself). */
  threadId?: number;
  conversationId: string;
  payload: OutboundPayload;
  createdAt: string;
  /** Set just before a send (no fsync of its own, state/boot.ts); found set after a restart means the outcome is unknown. */
  attemptedAt?: string;
  /**
   * Messages of a multi-part text reply Telegram accepted already: recorded between parts (`outbox_part`),
   * and when the chat turned out to be upgraded to a supergroup (chat-migration.ts: the old group's history
   * is the supergroup's). Only the rest is sent.
   */
  deliveredParts?: number;
  /**
   * The split `deliveredParts` counts in (a digest of the parts and attachments, reply-sender.ts): a reply that
   * splits otherwise when it is sent again (another version's rendering) is sent whole, labelled. Absent in older items.
   */
  partsOf?: string;
  /** The next send carries the "possible duplicate" label (an unknown outcome, or a reboot since it was queued). */
  possibleDuplicate?: boolean;
}

/** The final state of a turn with a progress panel, stored with its final event until the panel shows it. */
export interface EndedTurn {
  activity: TurnActivity;
  /** The turn's duration as measured when it ended (the panel's "Took"). */
  elapsedMs: number;
}
