/**
 * One message of an album (a Telegram media group) admitted as one item (ARCHITECTURE §8 "Albums"): the
 * channel's id for it, its caption, and the names of its files. Kept in order on the album's item
 * (`InboundItem.albumParts`), whose text item is their captions joined (`albumText`) and whose files are
 * theirs in that order, so an edit of one part replaces only that part's caption and files.
 */
export interface AlbumPartInfo {
  sourceId: number;
  text: string;
  files: string[];
}

/** The album's text item: its parts' captions (and any further lines), blank ones left out. */
export function albumText(texts: readonly string[]): string {
  return texts
    .map((text) => text.trim())
    .filter(Boolean)
    .join("\n\n");
}
