// A conversation through the real CLI: replies, tool turns, and every conversation command.
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { processesMatching } from "./host-harness.js";
import { afterTool, isPanel, lastUserText, panels, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

const SLEEP = "sleep 317"; // the long shell command /cancel stops (an unusual number, to find it in `ps`)
const model = { failing: false };

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const tool = afterTool(req);
  if (ask.includes("[basic]")) return { text: "Hi there, this is the basic answer." };
  if (ask.includes("[tool]")) {
    return tool
      ? { text: "I wrote notes-e2e.txt for you." }
      : { toolCalls: [{ name: "file_write", arguments: { file_path: "notes-e2e.txt", content: "milk\nbread\n" } }] };
  }
  if (ask.includes("[usage]")) return { text: "Counted.", usage: { prompt_tokens: 123, completion_tokens: 45 } };
  if (ask.includes("[cancel]")) {
    return tool ? { text: "The long job finished." } : { toolCalls: [{ name: "shell", arguments: { command: SLEEP, wait_ms: 120_000 } }] };
  }
  if (ask.includes("[flaky]")) return model.failing ? { status: 500 } : { text: "Here is the flaky answer, finally." };
  if (ask.includes("[slowA]")) return { delayMs: 2500, text: "The slow answer to A." };
  if (ask.includes("[quickB]")) return { text: requestText(req).includes("first question [slowA]") ? "B answered, A in history." : "B answered." };
  // Instant turns still get their panel: it is due at once (progress_panel_delay_ms 0) and no send budget
  // holds it back (the e2e harness turns pace_sends off).
  if (ask.includes("[memo]")) return { text: "Noted." };
  if (ask.includes("[recall]")) {
    const text = requestText(req).includes("ZEBRA42") ? "The word was ZEBRA42." : "I do not know any word.";
    return { text };
  }
  return { text: "A default answer." };
}

// Every chat of this file is the private chat of a configured admin, so none waits for approval.
const chats = {
  basic: privateChat(101, "Basic"),
  tool: privateChat(102, "Tool"),
  status: privateChat(103, "Status"),
  help: privateChat(104, "Help"),
  unknown: privateChat(105, "Unknown"),
  mention: privateChat(106, "Mention"),
  nothing: privateChat(107, "Nothing"),
  cancel: privateChat(108, "Cancel"),
  flaky: privateChat(109, "Flaky"),
  fresh: privateChat(110, "Fresh"),
  sandbox: privateChat(111, "Sandbox"),
  remote: privateChat(112, "Remote"),
  interrupt: privateChat(113, "Interrupt"),
  photo: privateChat(114, "Photo"),
  renew: privateChat(115, "Renew"),
};

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});

afterAll(async () => {
  for (const pid of processesMatching(SLEEP)) process.kill(pid, "SIGKILL");
  await e2e?.close();
});

function bwrapOnPath(): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, "bwrap")));
}

/** `Conversation: tg-000001` from a /status answer. */
function conversationId(status: string): string {
  const id = /^Conversation: (\S+)$/m.exec(status)?.[1];
  if (!id) throw new Error(`no conversation id in /status answer:\n${status}`);
  return id;
}

describe("conversation", { timeout: 60_000 }, () => {
  it("answers a message with the model's reply (typing shown, the model called with the key)", async () => {
    const reply = await e2e.ask(chats.basic, "hello [basic]");
    expect(reply).toBe("Hi there, this is the basic answer.");
    const req = e2e.model.requests.find((r) => lastUserText(r).includes("hello [basic]"));
    expect(req?.headers.authorization).toBe("Bearer e2e-model-key");
    expect(e2e.telegram.chatActions(chats.basic.id).some((a) => a.action === "typing")).toBe(true);
    // One progress panel for the turn, finalised as done.
    await e2e.until(() => panels(e2e.telegram, chats.basic.id).at(-1)?.text?.includes("✅ Done"), "the panel to show done", 5_000);
    expect(panels(e2e.telegram, chats.basic.id)).toHaveLength(1);
  });

  it("runs a tool turn: the file is written in the conversation workspace and the model sees the result", async () => {
    const reply = await e2e.ask(chats.tool, "please write my list [tool]");
    expect(reply).toBe("I wrote notes-e2e.txt for you.");
    const id = conversationId(await e2e.ask(chats.tool, "/status"));
    expect(id).toMatch(/^tg-\d{6}$/);
    const file = join(e2e.workdir, "conversations", id, "notes-e2e.txt");
    expect(readFileSync(file, "utf8")).toBe("milk\nbread\n");
    const followUp = e2e.model.requests.find((r) => lastUserText(r).includes("[tool]") && afterTool(r));
    expect(followUp, "the model was called again with the tool result").toBeDefined();
    const toolMessage = wireMessages(followUp!).at(-1)!;
    expect(toolMessage.role).toBe("tool");
  });

  it("/status shows conversation, model, sandbox, workspace, session state and token usage", async () => {
    expect(await e2e.ask(chats.status, "count this [usage]")).toBe("Counted.");
    const status = await e2e.ask(chats.status, "/status");
    const id = conversationId(status);
    expect(status).toContain("Model: main (fake-model)");
    expect(status).toContain("Sandbox: subprocess");
    expect(status).toContain(`Workspace: ${join(e2e.workdir, "conversations", id)}`);
    expect(status).toMatch(/^Session: idle/m);
    expect(status).toMatch(/^Tokens: 123 in \/ 45 out over 1 turns?/m);
  });

  it("/help lists the commands, which are also registered with setMyCommands (not /remote until it is available, no admin commands for everyone)", async () => {
    const help = await e2e.ask(chats.help, "/help");
    for (const command of ["status", "model", "cancel", "continue", "new", "compact", "reasoning", "sandbox", "help"]) {
      expect(help).toContain(`/${command}`);
    }
    const registered = e2e.telegram.currentCommands().map((c) => c.command);
    expect(registered).toEqual(expect.arrayContaining(["status", "model", "cancel", "continue", "new", "compact", "reasoning", "sandbox", "help"]));
    // /remote is listed exactly when it works (REMOTE_AVAILABLE in conversations/commands.ts).
    expect(registered.includes("remote")).toBe(help.includes("/remote"));
    if (/not available yet/.test(await e2e.ask(chats.help, "/remote"))) expect(registered).not.toContain("remote");
    expect(registered.filter((c) => c.startsWith("admin_"))).toEqual([]);
  });

  it("answers an unknown command without bothering the model", async () => {
    const reply = await e2e.ask(chats.unknown, "/frobnicate now");
    expect(reply).toMatch(/Unknown command \/frobnicate/);
    expect(reply).toContain("/help");
    expect(e2e.model.requests.some((r) => requestText(r).includes("frobnicate"))).toBe(false);
  });

  it("accepts /cmd@<this bot> and ignores commands addressed to another bot", async () => {
    const before = e2e.replies(chats.mention.id).length;
    e2e.send(chats.mention, "/help@someone_else_bot");
    const reply = await e2e.ask(chats.mention, `/status@${e2e.telegram.botUser.username}`);
    expect(reply).toMatch(/^Conversation: tg-\d{6}$/m);
    const after = e2e.replies(chats.mention.id).slice(before);
    expect(after).toHaveLength(1); // only the status: the other bot's /help got no answer
  });

  it("/cancel with nothing running says so (once)", async () => {
    const reply = await e2e.ask(chats.nothing, "/cancel");
    expect(reply).toMatch(/^Nothing to cancel/);
    expect(reply.toLowerCase().split("nothing to cancel").length - 1).toBe(1);
    // Also once a worker runs and rests.
    await e2e.ask(chats.nothing, "hi [basic]");
    const again = await e2e.ask(chats.nothing, "/cancel");
    expect(again).toMatch(/^Nothing to cancel/);
    expect(again.toLowerCase().split("nothing to cancel").length - 1).toBe(1);
  });

  it("/cancel stops a long shell command: cancelled reply, the process is gone, the chat goes on", async () => {
    e2e.send(chats.cancel, "start the long job [cancel]");
    await e2e.until(() => processesMatching(SLEEP).length > 0, "the long shell command to run");
    expect(await e2e.ask(chats.cancel, "/status")).toMatch(/^Session: \w+ \(tool: shell\), turn \d+/m);
    const reply = await e2e.ask(chats.cancel, "/cancel");
    expect(reply).toMatch(/Cancelled the running turn/);
    await e2e.until(() => processesMatching(SLEEP).length === 0, "the shell process to be gone", 5_000);
    await e2e.until(() => panels(e2e.telegram, chats.cancel.id).at(-1)?.text?.includes("Cancelled"), "the panel to show cancelled", 5_000);
    expect(e2e.replies(chats.cancel.id).some((m) => m.text === "The long job finished.")).toBe(false);
    // A second /cancel (as a /cancel re-delivered after a restart would be) still says how to resume.
    expect(await e2e.ask(chats.cancel, "/cancel")).toBe("Nothing to cancel: no turn is running. The last turn was cancelled. Send /continue to resume it.");
    // As the cancel reply says, /continue resumes the turn (the model sees the interrupted call's result).
    expect(await e2e.ask(chats.cancel, "/continue")).toMatch(/^Continuing/);
    await e2e.waitText(chats.cancel.id, /^The long job finished\.$/);
    const resumed = e2e.model.requests.filter((r) => lastUserText(r).includes("[cancel]") && afterTool(r)).at(-1)!;
    expect(String(wireMessages(resumed).at(-1)!.content)).toMatch(/interrupted|cancel/i);
    expect(await e2e.ask(chats.cancel, "still there? [basic]")).toBe("Hi there, this is the basic answer.");
  });

  it("/continue resumes a turn that failed (model 500s) and answers it", async () => {
    model.failing = true;
    e2e.send(chats.flaky, "a question [flaky]");
    const failure = await e2e.waitText(chats.flaky.id, /failed/i);
    expect(failure.text).toContain("/continue");
    await e2e.until(() => panels(e2e.telegram, chats.flaky.id).at(-1)?.text?.includes("Failed"), "the panel to show failed", 5_000);
    model.failing = false;
    const ack = await e2e.ask(chats.flaky, "/continue");
    expect(ack).toMatch(/^Continuing/);
    const answer = await e2e.waitText(chats.flaky.id, /flaky answer, finally/);
    expect(answer.text).toBe("Here is the flaky answer, finally.");
    // Continued, not re-asked: the last request still has the user's message exactly once.
    const last = e2e.model.requests.filter((r) => lastUserText(r).includes("[flaky]")).at(-1)!;
    expect(requestText(last).split("a question [flaky]").length - 1).toBe(1);
    const nothing = await e2e.ask(chats.flaky, "/continue");
    expect(nothing).toMatch(/^Nothing to continue/);
    expect(nothing.toLowerCase().split("nothing to continue").length - 1).toBe(1);
  });

  it("a new message during a turn interrupts it and is answered on the same history", async () => {
    e2e.send(chats.interrupt, "first question [slowA]");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("[slowA]")), "the slow model call");
    e2e.send(chats.interrupt, "second question [quickB]");
    await e2e.waitText(chats.interrupt.id, /^B answered/);
    expect(e2e.replies(chats.interrupt.id).map((m) => m.text)).toEqual(["B answered, A in history."]);
    // The slow call's answer must not arrive late: wait until no call for A can still answer (each was cut off,
    // or its 2.5 s are over).
    const slowCalls = () => e2e.model.requests.filter((r) => lastUserText(r).includes("[slowA]"));
    await e2e.until(() => slowCalls().every((r) => r.aborted || Date.now() > r.receivedAt + 2700), "every call for A cut off or over");
    expect(e2e.replies(chats.interrupt.id).map((m) => m.text)).toEqual(["B answered, A in history."]);
    // No panel is left showing a running turn.
    await e2e.until(() => panels(e2e.telegram, chats.interrupt.id).every((m) => m.text!.includes("Took")), "every panel to be final", 5_000);
  });

  it("/new starts a fresh session: the model no longer sees the old messages", async () => {
    expect(await e2e.ask(chats.fresh, "remember the word ZEBRA42 [memo]")).toBe("Noted.");
    expect(await e2e.ask(chats.fresh, "what was the word? [recall]")).toBe("The word was ZEBRA42.");
    // One progress panel per turn (it may reach the chat just after the reply).
    await e2e.until(() => e2e.telegram.messages(chats.fresh.id).filter(isPanel).length === 2, "a progress panel for each turn");
    const fresh = await e2e.ask(chats.fresh, "/new");
    expect(fresh).toMatch(/fresh session/i);
    expect(fresh, "nothing was left unanswered").not.toMatch(/Note:/);
    expect(await e2e.ask(chats.fresh, "and now, the word? [recall]")).toBe("I do not know any word.");
    // The fresh session's turns get their own progress panel too.
    await e2e.until(() => e2e.telegram.messages(chats.fresh.id).filter(isPanel).length === 3, "a progress panel for the new session's turn");
    const last = e2e.model.requests.filter((r) => lastUserText(r).includes("and now, the word?")).at(-1)!;
    expect(requestText(last)).not.toContain("ZEBRA42");
  });

  it("/new during a running turn says the turn was stopped without an answer", async () => {
    e2e.send(chats.renew, "start the long job [cancel]");
    await e2e.until(() => processesMatching(SLEEP).length > 0, "the long shell command to run");
    const reply = await e2e.ask(chats.renew, "/new");
    expect(reply).toMatch(/^Started a fresh session\..* Note: the turn that was running was stopped without an answer/);
    await e2e.until(() => processesMatching(SLEEP).length === 0, "the old turn's shell process to be gone");
    expect(await e2e.ask(chats.renew, "are you there? [basic]")).toBe("Hi there, this is the basic answer.");
  });

  it("/sandbox shows and sets the sandbox", async () => {
    expect(await e2e.ask(chats.sandbox, "/sandbox")).toMatch(/^Sandbox: subprocess/);
    const bubblewrap = await e2e.ask(chats.sandbox, "/sandbox bubblewrap");
    if (bwrapOnPath()) expect(bubblewrap).toMatch(/Sandbox set to bubblewrap/);
    else expect(bubblewrap).toMatch(/bubblewrap sandbox cannot start here/);
    expect(await e2e.ask(chats.sandbox, "/sandbox nonsense")).toMatch(/Unknown sandbox mode "nonsense"/);
    expect(await e2e.ask(chats.sandbox, "/sandbox subprocess")).toMatch(/Sandbox set to subprocess/);
    expect(await e2e.ask(chats.sandbox, "/status")).toMatch(/^Sandbox: subprocess \(override\)$/m);
    expect(await e2e.ask(chats.sandbox, "/sandbox default")).toMatch(/Sandbox set to subprocess \(default\)/);
    expect(await e2e.ask(chats.sandbox, "works after the change? [basic]")).toBe("Hi there, this is the basic answer.");
  });

  it("describes a photo as text to a model without image input (path, type, reason)", async () => {
    const bytes = Buffer.from("not really a jpeg");
    e2e.telegram.sendPhoto(chats.photo, { fileName: "p.jpg", mimeType: "image/jpeg", bytes, caption: "look [basic]" });
    await e2e.waitText(chats.photo.id, /basic answer/);
    const text = lastUserText(e2e.model.requests.find((r) => lastUserText(r).includes("look [basic]"))!);
    expect(text).toMatch(/uri: file:\/\/\S+\/attachments\/incoming\/\S+\.jpg/);
    expect(text).toContain("media_type: image/jpeg");
    expect(text).toMatch(/reason: .*image input/);
  });

  it("/remote shows the setting and its usage (test/e2e/remote.test.ts covers setting it)", async () => {
    expect(await e2e.ask(chats.remote, "/remote")).toMatch(/^Remote: off\.\nUse \/remote <ssh-alias>/);
    expect(await e2e.ask(chats.remote, "/remote abc")).toMatch(/Did not understand/);
    expect(await e2e.ask(chats.remote, "/model")).toMatch(/only chat model/);
  });
});
