import type { ContentItem } from "@starling/protocol";
import { albumText, type AlbumPartInfo } from "../channels/album-layout.js";
import type { InboundItem, PendingFile } from "../state/records.js";
import { replaceText } from "./message-edits.js";

/**
 * Edits of album parts while the album's one item waits for its session (ARCHITECTURE §8 "Edited
 * messages"). The item lists its parts (`albumParts`): its text item is their captions joined, its files
 * are theirs in order (pending, or the trailing `fileItems` their download stored). An edit replaces one
 * part's caption and, when it replaced the part's file, that part's files only: the other parts' files stay.
 */

/**
 * The waiting album `item` with part `sourceId`'s caption set to `text` and, when `files` is given, its files
 * replaced; null when that cannot be done in place (the item does not list the part, its files are not known
 * by count, or another part's new files are still downloading): the edit then comes as a new input.
 * Files replaced while none of the album's is downloaded yet replace that part's pending ones (the album is
 * downloaded anew); once they are downloaded, that part's items leave and its new files are pending alone,
 * to go back in its place (`pendingPart`).
 */
export function withAlbumPartReplaced(item: InboundItem, sourceId: number, text: string, files: readonly PendingFile[] | null): InboundItem | null {
  const parts = item.albumParts;
  const at = parts?.findIndex((p) => p.sourceId === sourceId) ?? -1;
  if (!parts || at < 0) return null;
  const replaced: AlbumPartInfo[] = parts.map((p, i) => (i === at ? { ...p, text, ...(files ? { files: files.map((f) => f.name) } : {}) } : p));
  const before = albumText(parts.map((p) => p.text));
  const now = albumText(replaced.map((p) => p.text));
  const message = before === now ? item.message : replaceText(item.message, before, now);
  if (!files) return { ...item, message, albumParts: replaced };
  const offset = fileOffset(parts, at);
  const own = parts[at]!.files.length;
  if (item.pendingPart !== undefined) {
    // The part whose new files are downloading may be replaced again; another one waits for that download.
    return item.pendingPart === sourceId ? { ...item, message, albumParts: replaced, pendingFiles: [...files] } : null;
  }
  if (item.pendingFiles?.length) {
    const pending = [...item.pendingFiles];
    pending.splice(offset, own, ...files);
    return { ...item, message, albumParts: replaced, pendingFiles: pending };
  }
  const downloaded = item.fileItems;
  if (!downloaded || downloaded !== fileCount(parts)) return null;
  const head = message.content.slice(0, message.content.length - downloaded);
  const kept = message.content.slice(message.content.length - downloaded);
  kept.splice(offset, own);
  return { ...item, message: { ...message, content: [...head, ...kept] }, albumParts: replaced, fileItems: kept.length, pendingFiles: [...files], pendingPart: sourceId };
}

/**
 * The held `item` with its downloaded `items` stored: appended (a message's files), or, for an album part's new
 * files (`pendingPart`), put in that part's place among the album's files.
 */
export function withFilesStored(item: InboundItem, items: ContentItem[]): InboundItem {
  const { pendingFiles: _done, pendingPart, fileItems, ...rest } = item;
  const parts = item.albumParts;
  const at = pendingPart === undefined || !parts ? -1 : parts.findIndex((p) => p.sourceId === pendingPart);
  if (at < 0) return { ...rest, message: { ...item.message, content: [...item.message.content, ...items] }, ...(items.length ? { fileItems: items.length } : {}) };
  const content = [...item.message.content];
  content.splice(content.length - (fileItems ?? 0) + fileOffset(parts!, at), 0, ...items);
  const stored = (fileItems ?? 0) + items.length;
  return { ...rest, message: { ...item.message, content }, ...(stored ? { fileItems: stored } : {}) };
}

const fileOffset = (parts: readonly AlbumPartInfo[], at: number) => fileCount(parts.slice(0, at));
const fileCount = (parts: readonly AlbumPartInfo[]) => parts.reduce((n, p) => n + p.files.length, 0);
