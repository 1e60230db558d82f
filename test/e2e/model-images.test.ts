// Images returned by a chat model (OpenRouter image output, `delta.images` as the fake streams them):
// the worker saves them under the workspace's generated/ and the chat receives them as files.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  if (text.includes("[draw]")) return { text: "Here is your drawing.", images: [`data:image/png;base64,${PNG.toString("base64")}`] };
  if (text.includes("[html]")) return { text: "Here is a page.", images: ["data:text/html;base64,PGgxPmhpPC9oMT4="] };
  return { text: "ok" };
}

const chat = privateChat(611, "Images");
let e2e: E2E;
let workspace: string;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id], mainCapabilities: ["chat", "image_out"] } });
  const status = await e2e.ask(chat, "/status");
  workspace = join(e2e.workdir, "conversations", /^Conversation: (\S+)$/m.exec(status)![1]!);
});

afterAll(async () => {
  await e2e?.close();
});

describe("images returned by the chat model", { timeout: 60_000 }, () => {
  it("saves the image into generated/ and sends it to the chat", async () => {
    e2e.send(chat, "draw me a dot [draw]");
    await e2e.waitText(chat.id, /Here is your drawing\./);
    const sent = await e2e.until(() => e2e.replies(chat.id).find((m) => m.file !== undefined), "the image to reach the chat");
    expect(sent.file!.bytes).toEqual(PNG);
    const saved = readdirSync(join(workspace, "generated"));
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(/^image-\d{8}T\d{6}-1\.png$/);
    expect(readFileSync(join(workspace, "generated", saved[0]!))).toEqual(PNG);
    expect(e2e.model.requests.at(-1)!.body["modalities"]).toEqual(["image", "text"]);
  });

  it("refuses a returned file that is not an image, saying so in the reply", async () => {
    e2e.send(chat, "make a page [html]");
    const reply = await e2e.waitText(chat.id, /Here is a page\./);
    expect(reply.text).toContain("(Image 1 returned by the model was not saved: it is not a base64 image (text/html;base64); only data:image/…;base64 URLs are saved.)");
    expect(readdirSync(join(workspace, "generated"))).toHaveLength(1);
    expect(existsSync(join(workspace, "generated"))).toBe(true);
  });
});
