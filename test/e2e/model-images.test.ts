// Images returned by a chat model (OpenRouter image output, `delta.images` as the fake streams them):
// the worker saves them under the workspace's generated/ and the chat receives them as files, also when
// they came with tool calls mid-turn (with the turn's final reply, or its failure or cancel notice when it
// gets none, or a background agent's kill notice), once only when a worker killed after saving them retries the step, and also when the retried
// step's model returned another image than the first attempt's.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { makeJpeg } from "../fixtures/media-files.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, startE2E, type E2E } from "./fixture.js";

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const pngUrl = `data:image/png;base64,${PNG.toString("base64")}`;
/** What the model returns when first asked to redraw, and when asked again after the crash that cut the first answer short. */
const FIRST_TRY = makeJpeg("first try");
const SECOND_TRY = makeJpeg("second try");

/** The chat model's state for the scripted turns below. */
const model = { failing: true, hung: false, redrawn: false };

function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  const drawAndNote = (): ScriptedReply => ({ text: "Drawing, then noting it.", images: [pngUrl], toolCalls: [{ name: "file_write", arguments: { file_path: "note.txt", content: "drew" } }] });
  if (text.startsWith("[Background task") && text.includes("[hang-agent]")) return afterTool(req) ? { hang: true } : drawAndNote();
  if (text.startsWith("[Background task")) return afterTool(req) ? { status: 500 } : drawAndNote();
  if (text.includes("[agent-kill-draw]")) {
    return afterTool(req) ? { text: "Started the drawing agent." } : { toolCalls: [{ name: "start_background_agent", arguments: { task: "draw, note it, then wait [hang-agent]" } }] };
  }
  if (text.includes("[kill-agent]")) {
    return afterTool(req) ? { text: "Stopped the drawing agent." } : { toolCalls: [{ name: "subagent_kill", arguments: { agent_id: "background_0001" } }] };
  }
  if (text.includes("[agent-draw]")) {
    return afterTool(req) ? { text: "Started the drawing agent." } : { toolCalls: [{ name: "start_background_agent", arguments: { task: "draw, note it, then fail" } }] };
  }
  if (text.includes("[fail-draw]")) return !afterTool(req) ? drawAndNote() : model.failing ? { status: 500 } : { text: "Finished after the failure." };
  if (text.includes("[cancel-draw]") && !afterTool(req)) return drawAndNote();
  if (text.includes("[cancel-draw]")) return model.hung ? { text: "Finished after the cancel." } : ((model.hung = true), { hang: true });
  if (text.includes("[interrupt-draw]")) return afterTool(req) ? { hang: true } : drawAndNote();
  if (text.includes("[after-interrupt]")) return { text: "Answered the new message." };
  if (text.includes("[redraw]") && !afterTool(req)) return drawAndNote();
  if (text.includes("[redraw]")) {
    const first = !model.redrawn;
    model.redrawn = true;
    return { text: "Redrawn.", images: [`data:image/jpeg;base64,${(first ? FIRST_TRY : SECOND_TRY).toString("base64")}`] };
  }
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
const failChat = privateChat(613, "Images of a failed turn");
const cancelChat = privateChat(614, "Images of a cancelled turn");
const redrawChat = privateChat(615, "Images of a retried step");
const interruptChat = privateChat(616, "Images of an interrupted turn");
const agentChat = privateChat(617, "Images of a background agent");
const killChat = privateChat(618, "Images of a background agent killed");
let e2e: E2E;
let workspace: string;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [chat.id, toolChat.id, failChat.id, cancelChat.id, redrawChat.id, interruptChat.id, agentChat.id, killChat.id], mainCapabilities: ["chat", "image_out"] } });
  // Each worker is killed the second time it saves a model's images: chat's in "saves an image once…",
  // redrawChat's in its test.
  e2e.start({ STARLING_WORKER_CRASH_AT: "model_images:2" });
  workspace = await workspaceOf(chat);
});

async function workspaceOf(of: typeof chat): Promise<string> {
  const status = await e2e.ask(of, "/status");
  return join(e2e.workdir, "conversations", /^Conversation: (\S+)$/m.exec(status)![1]!);
}

/** The files the chat received, after everything queued before a fresh /status reply was sent (the outbox sends in order). */
async function filesSent(of: typeof chat): Promise<Buffer[]> {
  // Not e2e.ask: its answer would be the first message after the command, maybe an attachment still on its way.
  const before = e2e.replies(of.id).length;
  e2e.send(of, "/status");
  await e2e.until(() => e2e.replies(of.id).slice(before).some((m) => m.text?.startsWith("Conversation: ")), "the /status reply");
  return e2e.replies(of.id).flatMap((m) => (m.file ? [m.file.bytes] : []));
}

/** Starts a turn whose model draws and notes it with a tool, and waits for the model call after the tool (`marker` decides how it goes). */
async function drawThenAsk(of: typeof chat, marker: string): Promise<void> {
  e2e.send(of, `draw, note it, then go on ${marker}`);
  await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes(marker) && afterTool(r)), "the model call after the tool");
}

/** /continue gets the turn's final answer (`done`), and the chat still has the turn's image once. */
async function continuedWithoutResend(of: typeof chat, done: RegExp): Promise<void> {
  expect(await e2e.ask(of, "/continue")).toMatch(/^Continuing/);
  await e2e.waitText(of.id, done);
  expect(await filesSent(of)).toEqual([PNG]);
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

  it("sends the images of a turn that failed with its failure notice, and not again after /continue", async () => {
    await drawThenAsk(failChat, "[fail-draw]");
    const failure = await e2e.waitText(failChat.id, /The turn failed/);
    expect(await filesSent(failChat)).toEqual([PNG]);
    expect(failure.text).toContain("Images the turn made before it stopped:");
    model.failing = false;
    await continuedWithoutResend(failChat, /Finished after the failure\./);
  });

  it("sends the images of a cancelled turn when it is cancelled, and not again after /continue", async () => {
    await drawThenAsk(cancelChat, "[cancel-draw]");
    expect(await e2e.ask(cancelChat, "/cancel")).toMatch(/Cancelled the running turn/);
    await e2e.until(() => e2e.replies(cancelChat.id).some((m) => m.file), "the image to reach the chat");
    expect(await filesSent(cancelChat)).toEqual([PNG]);
    expect(e2e.replies(cancelChat.id).some((m) => m.text === "Images the turn made before it stopped:")).toBe(true);
    await continuedWithoutResend(cancelChat, /Finished after the cancel\./);
  });

  it("sends the images of a turn a new message interrupted", async () => {
    await drawThenAsk(interruptChat, "[interrupt-draw]");
    e2e.send(interruptChat, "never mind [after-interrupt]");
    await e2e.waitText(interruptChat.id, /Answered the new message\./);
    await e2e.until(() => e2e.replies(interruptChat.id).some((m) => m.file), "the image to reach the chat");
    expect(await filesSent(interruptChat)).toEqual([PNG]);
  });

  it("sends the images of a background agent's failed turn with its failure notice", async () => {
    e2e.send(agentChat, "have an agent draw [agent-draw]");
    const failure = await e2e.waitText(agentChat.id, /background_0001 failed \(server\)/);
    expect(await filesSent(agentChat)).toEqual([PNG]);
    expect(failure.text).toContain("Images the turn made before it stopped:");
  });

  it("sends the images of a background agent killed mid-turn, naming it", async () => {
    e2e.send(killChat, "have an agent draw and wait [agent-kill-draw]");
    await e2e.waitText(killChat.id, /Started the drawing agent\./);
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("[hang-agent]") && afterTool(r)), "the agent's model call after its tool");
    e2e.send(killChat, "stop it [kill-agent]");
    await e2e.waitText(killChat.id, /Stopped the drawing agent\./);
    const notice = await e2e.waitText(killChat.id, /background_0001 was stopped: killed by foreground agent \(subagent_kill\)\./);
    expect(notice.text).toContain("Images the turn made before it stopped:");
    expect(await filesSent(killChat)).toEqual([PNG]);
  });

  // This chat's worker saves its second image (the first try's redraw) and is killed before the answer is
  // stored; the retried step's model draws another image: both reach the chat, said so.
  it("sends both images when the step retried after a crash returns another image than the first attempt", async () => {
    const redrawWorkspace = await workspaceOf(redrawChat);
    e2e.send(redrawChat, "draw, note it, then redraw [redraw]");
    const reply = await e2e.waitText(redrawChat.id, /Redrawn\./);
    expect(e2e.logTail(100_000).split("worker exited unexpectedly").length - 1, "two workers killed: chat's and this one").toBe(2);
    expect(await filesSent(redrawChat)).toEqual([SECOND_TRY, FIRST_TRY, PNG]);
    expect(reply.text).toContain("(Also returned by an earlier attempt at this answer that was cut short:)");
    expect(readdirSync(join(redrawWorkspace, "generated"))).toHaveLength(3);
  });
});
