import type pino from "pino";
import type { ContentItem } from "@starling/protocol";
import { albumText, type AlbumPartInfo } from "../album-layout.js";
import type { ChatRef, ConversationController, UserRef } from "../channel.js";
import type { HostStore } from "../../state/host-store.js";
import { recordUpdate, updateIsNew, type UpdateRef } from "../../state/update-record.js";
import type { PendingFile } from "../../state/records.js";

/** One admitted part of an album, stored until the album goes to the session as one message. */
export interface AlbumPart {
  channelId: string;
  mediaGroupId: string;
  updateId: number;
  /** The part's Telegram message id, so an edit finds it (absent in parts stored by older hosts: their edits are ignored). */
  sourceId?: number;
  chat: ChatRef;
  user: UserRef;
  /** ISO time the part was written. */
  time: string;
  /** Caption (and context lines) of this part, "" when none. */
  text: string;
  /** Downloaded file items (parts stored by Starling 0.3 and before; now always empty). */
  files: ContentItem[];
  /** The part's files, downloaded once the album is admitted (inbound-downloads.ts). */
  pendingFiles?: PendingFile[];
  /** The part addressed the bot (a group album triggers when any part does). */
  addressed: boolean;
  /** Group messages not addressing the bot are kept as context only. */
  group: boolean;
}

const pad = (n: number) => String(n).padStart(12, "0");
const partKey = (channelId: string, mediaGroupId: string, updateId: number) => `album:${channelId}:${mediaGroupId}:${pad(updateId)}`;

/** An edit of a part (`sourceId`) while its album is collected: what replaces the stored part's. */
export type AlbumPartEdit = Pick<AlbumPart, "mediaGroupId" | "updateId" | "chat" | "text" | "pendingFiles" | "addressed"> & { sourceId: number };

/**
 * Albums (ARCHITECTURE §8): Telegram delivers each photo of a media group as its own update. Each
 * part is admitted on arrival — stored with its update id in one sync batch (`album_part`) — and
 * `windowMs` after the first part the album goes to the session as one message (the parts are
 * deleted in that admission's batch). Parts left by a host that stopped while collecting are sent
 * at the next start, so nothing acknowledged to Telegram is lost.
 */
export class AlbumCollector {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Admissions of albums and edits of their parts, one at a time: an edit never lands between a flush's read and its admission. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      channelId: string;
      store: HostStore;
      controller: ConversationController;
      log: pino.Logger;
      windowMs: number;
      /** An album with files was admitted: its files are to be downloaded. */
      filesAdmitted: () => void;
    },
  ) {}

  /**
   * Stores one part with its update id (one sync batch) and starts the album's window. `pendingKey`: the part
   * waited behind its chat's command in that record (UpdateRef), deleted in the batch; gone: stored before.
   */
  async add(part: Omit<AlbumPart, "channelId">, pendingKey?: string): Promise<void> {
    const { store, channelId } = this.o;
    const stored: AlbumPart = { ...part, channelId };
    const update: UpdateRef = { channelId, updateId: part.updateId, ...(pendingKey === undefined ? {} : { pendingKey }) };
    await store.commit("album_part", (tx) => {
      if (pendingKey !== undefined && !updateIsNew(store, update)) return;
      tx.put(partKey(channelId, part.mediaGroupId, part.updateId), stored);
      recordUpdate(store, tx, update);
    });
    this.schedule(part.mediaGroupId, this.o.windowMs);
  }

  /**
   * An edit of a part still stored (its album not admitted yet): the part's caption and files replaced, with the
   * edit's update id, in one sync batch (commit point `album_part_edit`). False when no stored part is that
   * message (its album was admitted, or the part was stored by an older host): the edit goes on as any edit.
   * `pendingKey` as for `add`.
   */
  edit(edit: AlbumPartEdit, pendingKey?: string): Promise<boolean> {
    return this.exclusive(async () => {
      const { store, channelId } = this.o;
      const stored = store.list<AlbumPart>(`album:${channelId}:${edit.mediaGroupId}:`).find((p) => p.sourceId === edit.sourceId && p.chat.chatId === edit.chat.chatId);
      if (!stored) return false;
      const { pendingFiles, text, addressed } = edit;
      const update: UpdateRef = { channelId, updateId: edit.updateId, ...(pendingKey === undefined ? {} : { pendingKey }) };
      await store.commit("album_part_edit", (tx) => {
        if (pendingKey !== undefined && !updateIsNew(store, update)) return;
        tx.put(partKey(channelId, stored.mediaGroupId, stored.updateId), { ...stored, text, pendingFiles, addressed } satisfies AlbumPart);
        recordUpdate(store, tx, update);
      });
      return true;
    });
  }

  /** At start: albums whose collection a stopped host did not finish go out now. */
  restore(): void {
    const groups = new Set(this.o.store.list<AlbumPart>(`album:${this.o.channelId}:`).map((p) => p.mediaGroupId));
    // A full window: parts Telegram has not delivered yet (not confirmed before the stop) may still come.
    for (const id of groups) this.schedule(id, this.o.windowMs);
  }

  /** A later message of the same conversation came: its albums go first, so the session sees them in order. */
  async flushBefore(chat: ChatRef): Promise<void> {
    const parts = this.o.store.list<AlbumPart>(`album:${this.o.channelId}:`);
    const groups = new Set(parts.filter((p) => p.chat.chatId === chat.chatId && p.chat.threadId === chat.threadId).map((p) => p.mediaGroupId));
    for (const id of groups) {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      await this.flush(id);
    }
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(mediaGroupId: string, delayMs: number): void {
    if (this.timers.has(mediaGroupId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(mediaGroupId);
      this.flush(mediaGroupId).catch((err: unknown) => {
        this.o.log.error({ mediaGroupId, error: err instanceof Error ? err.message : String(err) }, "album could not be admitted; retrying at the next start");
      });
    }, delayMs);
    this.timers.set(mediaGroupId, timer);
  }

  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const done = this.serial.then(run);
    this.serial = done.catch(() => undefined);
    return done;
  }

  private flush(mediaGroupId: string): Promise<void> {
    return this.exclusive(() => this.admit(mediaGroupId));
  }

  private async admit(mediaGroupId: string): Promise<void> {
    const { store, channelId, controller } = this.o;
    const parts = store.list<AlbumPart>(`album:${channelId}:${mediaGroupId}:`);
    const first = parts[0];
    if (!first) return;
    const contextOnly = first.group && !parts.some((p) => p.addressed);
    const pending = parts.flatMap((p) => p.pendingFiles ?? []);
    // Context only: the files are named, not downloaded (as for a single untriggered message).
    const notes = contextOnly ? pending.map((f) => `[${f.kind}: ${f.name}]`) : [];
    const text = albumText([...parts.map((p) => p.text), ...notes]);
    const files = parts.flatMap((p) => p.files);
    const content: ContentItem[] = [...(text ? [{ type: "text" as const, text }] : []), ...files];
    const withFiles = !contextOnly && pending.length > 0;
    await controller.admit({
      chat: first.chat,
      user: first.user,
      updateId: parts.at(-1)!.updateId,
      messageId: `${channelId}:album:${mediaGroupId}`,
      staged: parts.map((p) => partKey(channelId, mediaGroupId, p.updateId)),
      ...(contextOnly ? { contextOnly } : {}),
      ...(withFiles ? { pendingFiles: pending } : {}),
      ...albumParts(parts),
      message: { role: "user", userName: first.user.name, time: first.time, content: content.length || withFiles ? content : [{ type: "text", text: "(an empty album)" }] },
    });
    if (withFiles) this.o.filesAdmitted();
  }
}

/**
 * The album's parts for their edits (AdmitInput.albumParts); none when a part was stored by an older host (no
 * message id, or files downloaded before admission): edits of that album stay ignored.
 */
function albumParts(parts: AlbumPart[]): { albumParts?: AlbumPartInfo[] } {
  if (parts.some((p) => p.sourceId === undefined || p.files.length)) return {};
  return { albumParts: parts.map((p) => ({ sourceId: p.sourceId!, text: p.text, files: (p.pendingFiles ?? []).map((f) => f.name) })) };
}
