// Images returned by a chat model (OpenRouter image output, `delta.images` as the fake streams them):
// the worker saves them under the workspace's generated/ and the chat receives them as files, also when
// they came with tool calls mid-turn, and once only when a worker killed after saving them retries the step.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, startE2E, type E2E } from "./fixture.js";

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  if (text.includes("[draw]")) return { text: "Here is your drawing.", images: [`data:image/png;base64,${PNG.toString("base64")}`] };
  if (text.includes("[tool-draw]") && !afterTool(req)) {
    return { text: "Drawing, then noting it.", images: [`data:image/png;base64,${PNG.toString("base64")}`], toolCalls: [{ name: "file_write", arguments: { file_path: "note.txt", content: "drew" } }] };
  }
  if (text.includes("[tool-draw]")) return { text: "Noted the drawing." };
  if (text.includes("[crash-draw]") && !afterTool(req)) return { toolCalls: [{ name: "file_write", arguments: { file_path: "plan.txt", content: "a dot" } }] };
  if (text.includes("[crash-draw]")) return { text: "Drawn despite the crash.", images: [`data:image/png;base64,${PNG.toString("base64")}`] };
  if (text.includes("[html]")) return { text: "Here is a page.", images: ["data:text/html;base64,PGgxPmhpPC9oMT4="] };
  return { text: "ok" };
}

const chat = privateChat(611, "Images");
const toolChat = privateChat(612, "Images with tools");
let e2e: E2E;
let workspace: string;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [chat.id, toolChat.id], mainCapabilities: ["chat", "image_out"] } });
  // Each worker is killed the second time it saves a model's images: only chat's does, in the last test.
  e2e.start({ STARLING_WORKER_CRASH_AT: "model_images:2" });
  workspace = await workspaceOf(chat);
});

async function workspaceOf(of: typeof chat): Promise<string> {
  const status = await e2e.ask(of, "/status");
  return join(e2e.workdir, "conversations", /^Conversation: (\S+)$/m.exec(status)![1]!);
}

/** The files the chat received, after everything queued before a fresh /status reply was sent (the outbox sends in order). */
async function filesSent(of: typeof chat): Promise<Buffer[]> {
  await e2e.ask(of, "/status");
  return e2e.replies(of.id).flatMap((m) => (m.file ? [m.file.bytes] : []));
}

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
    expect(saved[0]).toMatch(/^image-\d{8}T\d{6}-t1a1-1\.png$/);
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

  it("sends an image returned with tool calls with the turn's final reply, once", async () => {
    const toolWorkspace = await workspaceOf(toolChat);
    e2e.send(toolChat, "draw, then note it [tool-draw]");
    await e2e.waitText(toolChat.id, /Noted the drawing\./);
    expect(await filesSent(toolChat)).toEqual([PNG]);
    expect(readdirSync(join(toolWorkspace, "generated"))).toHaveLength(1);
  });

  // The second image this worker saves kills it (the host's knob, beforeAll): the first was the one above.
  // It comes in the turn's second answer, after a tool call: the retry after the continue (where step
  // counts start again) must still find it.
  it("saves an image once when the worker is killed after saving it and the step is retried", async () => {
    // Test 1 waited for its image to arrive.
    const before = e2e.replies(chat.id).flatMap((m) => (m.file ? [m.file.bytes] : []));
    e2e.send(chat, "draw me a dot [crash-draw]");
    await e2e.waitText(chat.id, /Drawn despite the crash\./);
    expect(e2e.logTail(100_000).split("worker exited unexpectedly").length - 1, "the worker was killed after saving its second image (the first is test 1's: run the whole file)").toBe(1);
    const saved = readdirSync(join(workspace, "generated"));
    expect(saved).toHaveLength(2);
    expect(saved.filter((name) => /^image-\d{8}T\d{6}-t3a2-1\.png$/.test(name))).toHaveLength(1);
    expect(await filesSent(chat)).toEqual([...before, PNG]);
  });
});
