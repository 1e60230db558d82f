// Albums through the real CLI (ARCHITECTURE §8): the photos of one media group reach the model as
// one message, also when the host is killed while it collects them (crash point album_part).
import { afterEach, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { makeJpeg } from "../fixtures/media-files.js";
import { isPanel, startE2E, wireMessages, type E2E } from "./fixture.js";

const chat = privateChat(701, "Ann");

function imagesIn(req: RecordedRequest): number {
  const user = wireMessages(req).filter((m) => m.role === "user").at(-1);
  const parts = Array.isArray(user?.content) ? (user.content as { type: string }[]) : [];
  return parts.filter((p) => p.type === "image_url").length;
}

function respond(req: RecordedRequest): ScriptedReply {
  return { text: `I see ${imagesIn(req)} pictures.` };
}

const photo = (n: number, caption?: string) => ({
  fileName: `p${n}.jpg`,
  mimeType: "image/jpeg",
  bytes: makeJpeg(`photo ${n}`),
  ...(caption ? { caption } : {}),
});

let e2e: E2E;
afterEach(async () => {
  await e2e?.close();
});

describe("albums", { timeout: 60_000 }, () => {
  it("gives the model the three photos of an album as one message, with the caption, and answers once", async () => {
    e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id], mainCapabilities: ["chat", "image_in"] } });
    e2e.telegram.sendPhoto(chat, photo(1, "which one is best?"), { mediaGroupId: "g1" });
    e2e.telegram.sendPhoto(chat, photo(2), { mediaGroupId: "g1" });
    e2e.telegram.sendPhoto(chat, photo(3), { mediaGroupId: "g1" });
    await e2e.waitText(chat.id, /^I see 3 pictures\.$/);
    expect(e2e.model.requests).toHaveLength(1);
    expect(JSON.stringify(e2e.model.requests[0]!.body.messages)).toContain("which one is best?");
    expect(e2e.replies(chat.id).filter((m) => !isPanel(m) && /pictures/.test(m.text ?? ""))).toHaveLength(1);
  });

  it("keeps the parts a killed host had admitted and sends the album after the restart", async () => {
    e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [chat.id], mainCapabilities: ["chat", "image_in"] } });
    e2e.start({ STARLING_CRASH_AT: "album_part:2" });
    e2e.telegram.sendPhoto(chat, photo(1, "compare these"), { mediaGroupId: "g2" });
    e2e.telegram.sendPhoto(chat, photo(2), { mediaGroupId: "g2" });
    e2e.telegram.sendPhoto(chat, photo(3), { mediaGroupId: "g2" });
    const exit = await e2e.host!.exited;
    expect(exit.signal).toBe("SIGKILL");
    expect(e2e.model.requests).toHaveLength(0);
    e2e.start();
    await e2e.waitText(chat.id, /^I see 3 pictures\.$/);
    expect(e2e.model.requests).toHaveLength(1);
  });
});
