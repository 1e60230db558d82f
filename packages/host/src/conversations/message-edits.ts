import type { ChatMessage } from "@starling/protocol";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import type { InboundItem, PendingFile } from "../state/records.js";

/**
 * Edited messages (ARCHITECTURE §8 "Edited messages"). Every admitted channel message is recorded by
 * its chat and message id (`msgsrc:` keys, in the admission batch; each part of an album too); an edit
 * finds it there. Messages never admitted (refused, from a chat not approved then, commands, album parts
 * admitted by older hosts) have no record, so their edits are ignored like the messages were. The newest
 * SOURCES_KEPT records per chat are kept.
 */
export const SOURCES_KEPT = 20;
/**
 * Pruned in steps, so a busy chat does not list its records on every message. Few are kept: a record
 * holds the message's text, and the host mirrors its whole database in memory (a few KB per chat).
 */
const PRUNE_STEP = 10;

export interface SourceRecord {
  sourceId: number;
  conversationId: string;
  /** Host id of the item that carries the message's current text (the original, or the latest edit). */
  messageId: string;
  /** Inbound seq of that item (absent: kept as group context, never a waiting item). */
  seq?: number;
  /** The message's text as the user wrote it last. */
  text: string;
  /** The text item of the waiting item, when it is not `text` (an edit notice). */
  body?: string;
  /** For an edit notice: the text the model had before the edit (quoted again by a further edit). */
  before?: string;
  /**
   * The names of the message's files (Telegram names them by `file_unique_id`, inbound-media.ts), so an
   * edit that only replaces a file is seen. Absent in records of messages without files and older records.
   */
  files?: string[];
  /**
   * The message is one part of an album admitted as one item (`messageId`, `seq`): an edit replaces that part in
   * the item while it waits (album-edits.ts). Absent on other records, and once an edit of the part came as a new input.
   */
  albumPart?: true;
}

export function sourceKey(channelId: string, chatId: string, sourceId: number): string {
  return HostKeys.source(channelId, chatId, sourceId);
}

/** Writes the record into `tx` and drops the chat's oldest records beyond SOURCES_KEPT. */
export function recordSource(store: HostStore, tx: HostTransaction, channelId: string, chatId: string, record: SourceRecord): void {
  const prefix = `msgsrc:${channelId}:${chatId}:`;
  tx.put(sourceKey(channelId, chatId, record.sourceId), record);
  const excess = store.count(prefix) - SOURCES_KEPT;
  if (excess < PRUNE_STEP) return;
  for (const old of store.list<SourceRecord>(prefix).slice(0, excess)) tx.del(sourceKey(channelId, chatId, old.sourceId));
}

/** The record's item while it waits for its session (inbound or held), with its key; else null. */
export function waitingItem(store: HostStore, record: SourceRecord): { key: string; item: InboundItem } | null {
  if (record.seq === undefined) return null;
  for (const key of [HostKeys.inbound(record.seq), HostKeys.held(record.conversationId, record.seq)]) {
    const item = store.get<InboundItem>(key);
    if (item?.messageId === record.messageId) return { key, item };
  }
  return null;
}

/**
 * The waiting message with its text item (`from`) replaced by `to`: added before its files when it had none,
 * left out when `to` is empty (a caption removed).
 */
export function replaceText(message: ChatMessage, from: string, to: string): ChatMessage {
  const content = [...message.content];
  const at = content.findIndex((item) => item.type === "text" && item.text === from);
  if (at >= 0) {
    if (to) content[at] = { type: "text", text: to };
    else content.splice(at, 1);
  } else if (to) {
    const firstFile = content.findIndex((item) => item.type !== "text");
    content.splice(firstFile < 0 ? content.length : firstFile, 0, { type: "text", text: to });
  }
  return { ...message, content };
}

/**
 * The message's files when an edit replaced them (compared by name with the recorded ones), else null:
 * a record that lists no files (a text message, or written before files were recorded) is not compared.
 */
export function replacedFiles(record: SourceRecord, files: readonly PendingFile[] | undefined): PendingFile[] | null {
  if (!record.files?.length || !files?.length) return null;
  return sameNames(files.map((f) => f.name), record.files) ? null : [...files];
}

/** True when both lists name the same files (names carry Telegram's `file_unique_id`), in the same order. */
export function sameFiles(a: readonly PendingFile[], b: readonly PendingFile[]): boolean {
  return sameNames(a.map((f) => f.name), b.map((f) => f.name));
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((name, i) => name === b[i]);

/**
 * A waiting message whose files an edit replaced: its own files (still pending, or the trailing items their
 * download stored) give way to `files`, pending, and its text item `from` becomes `to`. Null when the item
 * carries no files of its own (an edit notice quoting a text change, or an item stored before `fileItems`):
 * the edit then comes as a new input.
 */
export function withFilesReplaced(item: InboundItem, from: string, to: string, files: readonly PendingFile[]): InboundItem | null {
  const downloaded = item.pendingFiles?.length ? 0 : (item.fileItems ?? 0);
  if (!item.pendingFiles?.length && !downloaded) return null;
  const { fileItems: _stored, ...rest } = item;
  const own = { ...item.message, content: item.message.content.slice(0, item.message.content.length - downloaded) };
  return { ...rest, message: replaceText(own, from, to), pendingFiles: [...files] };
}

/**
 * The files of a group message kept as context (never downloaded, only named in its text) that an edit now
 * addresses to the bot, else null: the question the edit asks is about them.
 */
export function contextFiles(record: SourceRecord, files: readonly PendingFile[] | undefined): PendingFile[] | null {
  return record.seq === undefined && !record.files?.length && files?.length ? [...files] : null;
}

/** What the model is told when an edit addressed a group message kept as context, with its files (attached after it). */
export function contextFileNotice(before: string, now: string, files: readonly PendingFile[]): string {
  return `${editNotice(before, now)}\nThe ${kinds(files)} of that message ${files.length > 1 ? "are" : "is"} attached.`;
}

const kinds = (files: readonly PendingFile[]) => [...new Set(files.map((f) => f.kind.replace("_", " ")))].join(" and ");

/** What the model is told when an edit replaced a message's files (attached after it): and its text, when that changed too. */
export function fileEditNotice(before: string, now: string, files: readonly PendingFile[]): string {
  const replaced = `replaced the ${kinds(files)} of a message they sent earlier; the new one is attached`;
  if (before !== now) return `${editNotice(before, now)}
They also ${replaced}.`;
  return `✏️ The user ${replaced}.${now.trim() ? ` Its text is unchanged:\n${now}` : ""}`;
}

/** What the model is told when a message it has (or had) is edited: the text before and after. */
export function editNotice(before: string, now: string): string {
  const quoted = before.trim() ? before.split("\n").map((line) => `> ${line}`).join("\n") : "> (no text)";
  return `✏️ The user edited a message they sent earlier. It read:\n${quoted}\nIt now reads:\n${now}`;
}
