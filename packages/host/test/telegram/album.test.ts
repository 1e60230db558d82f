import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { createHarness, eventually, type Harness } from "./harness.js";

// Scope: albums at the channel boundary: the parts of one media group become one admitted message;
// parts stored before the channel stopped are admitted after the restart. (The kill -9 case runs
// through the CLI in test/e2e/albums.test.ts.)

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const ann = privateChat(42, "Ann");
const photo = (n: number, caption?: string) => ({
  fileName: `p${n}.jpg`,
  mimeType: "image/jpeg",
  bytes: Buffer.from(`photo ${n}`),
  ...(caption ? { caption } : {}),
});

describe("albums", () => {
  it("admits the photos of one media group as one message with the caption and every file", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["42"] });
    // A long window: the separate message that follows makes the album go first anyway.
    await h.startChannel({ timing: { albumWindowMs: 10_000 } });
    fake.sendPhoto(ann, photo(1, "which one?"), { mediaGroupId: "g1" });
    fake.sendPhoto(ann, photo(2), { mediaGroupId: "g1" });
    const last = fake.sendPhoto(ann, photo(3), { mediaGroupId: "g1" });
    fake.sendText(ann, "and a separate message");
    await eventually(() => h.controller.admits.length === 2, 8000, "two admissions");
    const [album, text] = h.controller.admits;
    expect(album!.message.content.map((c) => c.type)).toEqual(["text", "file", "file", "file"]);
    expect(album!.message.content[0]).toEqual({ type: "text", text: "which one?" });
    expect(album!.messageId).toBe("tg:album:g1");
    expect(text!.message.content).toEqual([{ type: "text", text: "and a separate message" }]);
    await fake.waitFor(() => fake.confirmedOffset() > last); // every part acknowledged to Telegram
    expect(h.store.list("album:")).toEqual([]);
  });

  it("holds the parts of an album sent behind the chat's waiting command; after it, they are admitted as one album", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["42"] });
    await h.startChannel({ timing: { albumWindowMs: 300 } });
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    fake.sendCommand(ann, "status");
    fake.sendPhoto(ann, photo(1, "behind the command"), { mediaGroupId: "g3" });
    const last = fake.sendPhoto(ann, photo(2), { mediaGroupId: "g3" });
    await fake.waitFor(() => fake.confirmedOffset() > last);
    expect(h.store.list("album:"), "no part stored before the command is done").toEqual([]);
    expect(h.store.list("cmdpending:")).toHaveLength(3);
    release();
    await eventually(() => h.controller.admits.length === 1, 8000, "the album");
    const content = h.controller.admits[0]!.message.content;
    expect(content[0]).toEqual({ type: "text", text: "behind the command" });
    expect(content.filter((c) => c.type === "file")).toHaveLength(2);
    await eventually(() => h.store.list("cmdpending:").length === 0, 5000, "the held records deleted");
    expect(h.store.list("album:")).toEqual([]);
  });

  it("admits the stored parts after a restart, together with parts delivered after it", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["42"] });
    const first = await h.startChannel({ timing: { albumWindowMs: 60_000 } });
    fake.sendPhoto(ann, photo(1, "before the restart"), { mediaGroupId: "g2" });
    fake.sendPhoto(ann, photo(2), { mediaGroupId: "g2" });
    await eventually(() => h.store.list("album:").length === 2, 8000, "two stored parts");
    await first.stop();
    expect(h.controller.admits).toHaveLength(0);
    await h.startChannel({ timing: { albumWindowMs: 600 } });
    fake.sendPhoto(ann, photo(3), { mediaGroupId: "g2" });
    await eventually(() => h.controller.admits.length === 1, 8000, "the album");
    expect(h.controller.admits[0]!.message.content.filter((c) => c.type === "file")).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.controller.admits).toHaveLength(1);
  });
});
