import { describe, expect, it } from "vitest";
import type { ContentItem } from "@starling/protocol";
import { withAlbumPartReplaced, withFilesStored } from "../../src/conversations/album-edits.js";
import type { InboundItem, PendingFile } from "../../src/state/records.js";

// Scope: where an edited album part's caption and files go in the album's one waiting item (the cases the
// e2e tests in test/e2e/album-edits.test.ts do not reach: a second edit while a part's new file downloads,
// a removed caption, items of older hosts). The stored item is what the session gets.

const pending = (name: string): PendingFile => ({ kind: "photo", fileId: `id-${name}`, name, mediaType: "image/jpeg" });
const file = (name: string): ContentItem => ({ type: "file", uri: `file:///w/${name}`, name, mediaType: "image/jpeg" });
const text = (t: string): ContentItem => ({ type: "text", text: t });

/** An album of parts 11 ("first caption", a.jpg), 12 (no caption, b.jpg), 13 ("third", c.jpg), its files downloaded. */
function downloaded(): InboundItem {
  return {
    seq: 7,
    conversationId: "tg-000001",
    sessionId: "tg-000001.foreground",
    messageId: "tg:album:g",
    admittedAt: "2026-12-01T00:00:00.000Z",
    message: { role: "user", content: [text("first caption\n\nthird"), file("a.jpg"), file("b.jpg"), file("c.jpg")] },
    fileItems: 3,
    albumParts: [
      { sourceId: 11, text: "first caption", files: ["a.jpg"] },
      { sourceId: 12, text: "", files: ["b.jpg"] },
      { sourceId: 13, text: "third", files: ["c.jpg"] },
    ],
  };
}

describe("edits of album parts while the album waits", () => {
  it("a part's new photo is downloaded alone and goes back in that part's place; its caption joins the others in order", () => {
    const edited = withAlbumPartReplaced(downloaded(), 12, "second now", [pending("b2.jpg")])!;
    expect(edited.message.content).toEqual([text("first caption\n\nsecond now\n\nthird"), file("a.jpg"), file("c.jpg")]);
    expect(edited).toMatchObject({ pendingFiles: [pending("b2.jpg")], pendingPart: 12, fileItems: 2 });
    const stored = withFilesStored(edited, [file("b2.jpg")]);
    expect(stored.message.content).toEqual([text("first caption\n\nsecond now\n\nthird"), file("a.jpg"), file("b2.jpg"), file("c.jpg")]);
    expect(stored.fileItems).toBe(3);
    expect(stored.pendingFiles).toBeUndefined();
    expect(stored.pendingPart).toBeUndefined();
    // A further replacement finds the parts' files where they are now.
    const again = withFilesStored(withAlbumPartReplaced(stored, 13, "third", [pending("c2.jpg")])!, [file("c2.jpg")]);
    expect(again.message.content.slice(1)).toEqual([file("a.jpg"), file("b2.jpg"), file("c2.jpg")]);
  });

  it("while a part's new photo downloads: that part may be replaced again, another part's photo cannot be placed (a new input instead)", () => {
    const edited = withAlbumPartReplaced(downloaded(), 12, "", [pending("b2.jpg")])!;
    expect(withAlbumPartReplaced(edited, 12, "", [pending("b3.jpg")])).toMatchObject({ pendingFiles: [pending("b3.jpg")], pendingPart: 12, fileItems: 2 });
    expect(withAlbumPartReplaced(edited, 11, "first caption", [pending("a2.jpg")])).toBeNull();
    // A caption alone is still replaced in place.
    expect(withAlbumPartReplaced(edited, 11, "first, edited", null)!.message.content[0]).toEqual(text("first, edited\n\nthird"));
  });

  it("before the album's files are downloaded, the part's pending file is swapped in the album's list", () => {
    const { fileItems: _none, ...item } = downloaded();
    const waiting: InboundItem = { ...item, message: { role: "user", content: [text("first caption\n\nthird")] }, pendingFiles: [pending("a.jpg"), pending("b.jpg"), pending("c.jpg")] };
    const edited = withAlbumPartReplaced(waiting, 13, "third", [pending("c2.jpg")])!;
    expect(edited.pendingFiles).toEqual([pending("a.jpg"), pending("b.jpg"), pending("c2.jpg")]);
    expect(edited.pendingPart).toBeUndefined();
    expect(withFilesStored(edited, [file("a.jpg"), file("b.jpg"), file("c2.jpg")]).message.content.slice(1)).toEqual([file("a.jpg"), file("b.jpg"), file("c2.jpg")]);
  });

  it("captions all removed: the album keeps no empty text item; a caption added later goes before the files", () => {
    const bare = withAlbumPartReplaced(withAlbumPartReplaced(downloaded(), 11, "", null)!, 13, "", null)!;
    expect(bare.message.content).toEqual([file("a.jpg"), file("b.jpg"), file("c.jpg")]);
    expect(withAlbumPartReplaced(bare, 12, "now a caption", null)!.message.content[0]).toEqual(text("now a caption"));
  });

  it("an album item an older host stored (no parts listed), or a part it does not list, is not edited in place", () => {
    const { albumParts: _old, ...older } = downloaded();
    expect(withAlbumPartReplaced(older, 12, "x", null)).toBeNull();
    expect(withAlbumPartReplaced(downloaded(), 99, "x", null)).toBeNull();
  });
});
