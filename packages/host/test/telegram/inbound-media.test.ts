import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { createHarness, eventually, type Harness } from "./harness.js";

// Scope: inbound files through getFile + download into the workspace the (test) controller
// names, up to the `admit` call; what the session does with the file is out of scope.

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const alice = privateChat(42, "Alice");

async function setup(downloadLimitBytes?: number) {
  fake = await startFakeTelegram();
  h = await createHarness(fake, { adminUserIds: ["42"], downloadLimitBytes });
}

describe("inbound media", () => {
  it("downloads a photo into the workspace and admits it as a file item with the caption", async () => {
    await setup();
    await h.startChannel();
    const bytes = Buffer.from("fake-jpeg-bytes-0123456789");
    fake.sendPhoto(alice, { fileName: "cat.jpg", mimeType: "image/jpeg", bytes, caption: "what is this" });
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    const content = h.controller.admits[0]!.message.content;
    expect(content[0]).toEqual({ type: "text", text: "what is this" });
    const file = content[1]!;
    expect(file).toMatchObject({ type: "file", mediaType: "image/jpeg" });
    if (file.type !== "file") throw new Error("expected a file item");
    const path = fileURLToPath(file.uri);
    expect(path).toContain(`${h.dir}/conversations/42/attachments/incoming/`);
    expect(path).toMatch(/\/\d{8}T\d{6}Z-photo-[^/]+\.jpg$/);
    expect(readFileSync(path)).toEqual(bytes);
  });

  it("keeps a document's name and passes files without a caption", async () => {
    await setup();
    await h.startChannel();
    fake.sendDocument(alice, { fileName: "my report?.pdf", mimeType: "application/pdf", bytes: Buffer.from("%PDF-1.4") });
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    const [item] = h.controller.admits[0]!.message.content;
    expect(item).toMatchObject({ type: "file", name: "my report?.pdf", mediaType: "application/pdf" });
    if (item?.type !== "file") throw new Error("expected a file item");
    expect(fileURLToPath(item.uri)).toMatch(/-my report_\.pdf$/);
  });

  it("turns a failed download into a text item and tells the user", async () => {
    await setup();
    await h.startChannel();
    fake.failNext("getFile", { status: 400, description: "Bad Request: file is too big" });
    fake.sendVoice(alice, { fileName: "voice.ogg", mimeType: "audio/ogg", bytes: Buffer.from("OggS") });
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    const [item] = h.controller.admits[0]!.message.content;
    expect(item?.type).toBe("text");
    expect(item?.type === "text" && item.text).toMatch(/could not be downloaded: .*file is too big/);
    await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes("could not download")));
  });

  it("refuses files above the download limit without fetching them", async () => {
    await setup(10);
    await h.startChannel();
    fake.sendDocument(alice, { fileName: "big.bin", mimeType: "application/octet-stream", bytes: Buffer.alloc(100) });
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    const [item] = h.controller.admits[0]!.message.content;
    expect(item?.type === "text" && item.text).toMatch(/larger than the .* download limit/);
  });

  // attachments/ is in the workspace, where a command in bubblewrap can plant links; the host writes there outside any sandbox.
  describe("links planted in attachments/ are not written through", () => {
    let outside: string;
    afterEach(() => rmSync(outside, { recursive: true, force: true }));

    it("an attachments/incoming replaced by a link out of the workspace: the file is not written there and the user is told", async () => {
      await setup();
      outside = mkdtempSync(join(tmpdir(), "starling-outside-"));
      const workspace = join(h.dir, "conversations", "42");
      mkdirSync(join(workspace, "attachments"), { recursive: true });
      symlinkSync(outside, join(workspace, "attachments", "incoming"));
      await h.startChannel();
      fake.sendDocument(alice, { fileName: "notes.txt", mimeType: "text/plain", bytes: Buffer.from("USER-FILE") });
      await eventually(() => h.controller.admits.length === 1, 5000, "admit");
      expect(readdirSync(outside)).toEqual([]);
      const [item] = h.controller.admits[0]!.message.content;
      expect(item?.type === "text" && item.text).toMatch(/attachments\/incoming in the workspace is a link or not a folder/);
    });

    it("a dangling link planted at the partial file's name: its target is not created, the file lands in the workspace", async () => {
      await setup();
      outside = mkdtempSync(join(tmpdir(), "starling-outside-"));
      const incoming = join(h.dir, "conversations", "42", "attachments", "incoming");
      mkdirSync(incoming, { recursive: true });
      const now = Date.now();
      for (let s = 0; s < 10; s++) {
        const stamp = new Date(now + s * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
        symlinkSync(join(outside, `planted-${s}`), join(incoming, `${stamp}-notes.txt.part`));
      }
      await h.startChannel();
      fake.sendDocument(alice, { fileName: "notes.txt", mimeType: "text/plain", bytes: Buffer.from("USER-FILE") });
      await eventually(() => h.controller.admits.length === 1, 5000, "admit");
      expect(readdirSync(outside)).toEqual([]);
      const [item] = h.controller.admits[0]!.message.content;
      if (item?.type !== "file") throw new Error(`expected a file item, got ${JSON.stringify(item)}`);
      const path = fileURLToPath(item.uri);
      expect(path.startsWith(`${incoming}/`)).toBe(true);
      expect(readFileSync(path, "utf8")).toBe("USER-FILE");
      expect(existsSync(`${path}.part`)).toBe(false);
    });
  });
});
