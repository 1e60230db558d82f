// A Stellaclaw conversation's history carried into its first Starling worker: the import (commit point `import`)
// converts the foreground session's `current_messages` into a seed; the first worker gets it in `initialize` and
// stores it, and the host then forgets it (commit point `seed_delivered`). Killed at either point, the old
// messages still reach the model once, before the first new message; /new before the first message drops them;
// a damaged session.json is a warning and a fresh history.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { contentText, lastUserText, processAlive, startE2E, wireMessages, type E2E } from "./fixture.js";

const ada = privateChat(601, "Ada");
const bob = privateChat(602, "Bob");
const cyd = privateChat(603, "Cyd");
const dee = privateChat(604, "Dee");
const OLD_ROOT = "/srv/stellaclaw-moved-since";

const ctx = (text: string) => ({ type: "context", payload: { text } });
const msg = (role: "user" | "assistant", data: unknown[], extra: Record<string, unknown> = {}) => ({ role, data, ...extra });

/** Six messages: user text with a file, a tool call and its result, an answer, a missing file, a reasoning-only message. */
function history(id: string, word: string): string {
  const current = [
    msg("user", [ctx(`Please remember the word ${word}.`), { type: "file", payload: { uri: `file://${OLD_ROOT}/conversations/${id}/attachments/incoming/plan.txt`, name: "plan.txt", media_type: "text/plain" } }], {
      user_name: "Ada",
      message_time: "2026-04-01T09:00:00Z",
    }),
    msg("assistant", [{ type: "reasoning", payload: { text: "think" } }, { type: "tool_call", payload: { tool_call_id: "c1", tool_name: "file_read", arguments: { text: '{"file_path":"plan.txt"}' } } }]),
    msg("user", [{ type: "tool_result", payload: { tool_call_id: "c1", tool_name: "file_read", result: { context: { text: `plan of ${word}` } } } }]),
    msg("assistant", [ctx(`I will remember ${word} for you.`)]),
    msg("user", [{ type: "file", payload: { uri: `file://${OLD_ROOT}/conversations/${id}/attachments/incoming/gone.pdf`, name: "gone.pdf" } }]),
    msg("assistant", [{ type: "reasoning", payload: { text: "only thoughts" } }]),
  ];
  return JSON.stringify({ version: 1, initial: {}, all_messages: current, current_messages: current, next_turn_id: 4 });
}

/** The texts of the old messages as the model must see them, in order. */
function oldTexts(id: string, word: string): string[] {
  return [
    `[from Ada at 2026-04-01T09:00:00Z]\nPlease remember the word ${word}.`,
    `/conversations/${id}/attachments/incoming/plan.txt`,
    `[tool_call file_read] {"file_path":"plan.txt"}`,
    `[tool_result file_read] plan of ${word}`,
    `I will remember ${word} for you.`,
    `[file gone.pdf (file://${OLD_ROOT}/conversations/${id}/attachments/incoming/gone.pdf): not found in the workspace]`,
  ];
}

function conversation(id: string, chatId: number): Record<string, string> {
  return {
    [`conversations/${id}/conversation.json`]: JSON.stringify({
      version: 1,
      conversation_id: id,
      channel_id: "tg",
      platform_chat_id: String(chatId),
      session_binding: { foreground_session_id: `${id}.foreground`, next_background_index: 1, next_subagent_index: 1 },
    }),
    [`conversations/${id}/attachments/incoming/plan.txt`]: "the plan\n",
  };
}

function writeStellaclawWorkdir(dir: string): void {
  const files: Record<string, string> = {
    STELLA_VERSION: "0.5\n",
    ".log/stellaclaw/conversation_ids.json": JSON.stringify({
      next_index_by_channel: { tg: 5 },
      mappings: { "tg::601": "tg-000001", "tg::602": "tg-000002", "tg::603": "tg-000003", "tg::604": "tg-000004" },
    }),
    ".log/stellaclaw/channels/tg/security.json": JSON.stringify({
      admin_user_ids: [601],
      chats: { "601": { state: "Approved" }, "602": { state: "Approved" }, "603": { state: "Approved" }, "604": { state: "Approved" } },
    }),
    ...conversation("tg-000001", 601),
    "conversations/tg-000001/.log/stellaclaw/tg-000001.foreground/session.json": history("tg-000001", "kestrel-7"),
    ...conversation("tg-000002", 602),
    "conversations/tg-000002/.log/stellaclaw/tg-000002.foreground/session.json": '{"version": 1, "current_messages": [{"role": "user", "data": [',
    ...conversation("tg-000003", 603),
    "conversations/tg-000003/.log/stellaclaw/tg-000003.foreground/session.json": history("tg-000003", "osprey-3"),
    ...conversation("tg-000004", 604),
    "conversations/tg-000004/.log/stellaclaw/tg-000004.foreground/session.json": history("tg-000004", "plover-9"),
  };
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, relative)), { recursive: true });
    writeFileSync(join(dir, relative), content);
  }
}

/** What a request's last user message asks (its last line: a chat message starts with a `[from …]` line). */
const asked = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1)!;
/** The model's requests for the chat's messages (each asks "<chat>: …"). */
const requestsOf = (who: string) => e2e.model.requests.filter((r) => asked(r).startsWith(`${who}:`));
/** A request's messages after the system prompt, as text. */
const seen = (req: RecordedRequest): string[] => wireMessages(req).filter((m) => m.role !== "system").map(contentText);
/** How many of the request's messages hold `text`. */
const holding = (req: RecordedRequest, text: string) => seen(req).filter((t) => t.includes(text)).length;

function workerPid(sessionId: string): number | undefined {
  const pid = e2e.logRecords().filter((r) => r.msg === "worker ready" && r.sessionId === sessionId).at(-1)?.pid;
  return typeof pid === "number" && processAlive(pid) ? pid : undefined;
}

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: (req) => ({ text: `answer to ${asked(req)}` }), start: false });
  writeStellaclawWorkdir(e2e.workdir);
});

afterAll(async () => {
  await e2e?.close();
});

describe("Stellaclaw history carried into the first worker", { timeout: 120_000 }, () => {
  it("host killed at seed_delivered: the first message reaches the model after the old ones, in order; later turns and a killed worker's successor do not repeat them", async () => {
    const host = e2e.start({ STARLING_CRASH_AT: "seed_delivered" });
    e2e.send(ada, "ada: what do you remember?");
    await e2e.killedAt(host, "seed_delivered");
    e2e.start();
    await e2e.waitText(ada.id, /^answer to ada: what do you remember\?/, 40_000);

    const first = requestsOf("ada")[0]!;
    const texts = seen(first);
    const expected = [...oldTexts("tg-000001", "kestrel-7"), "ada: what do you remember?"];
    // Each expected text in its own message, in this order (the file is a text reference naming its path).
    const at = expected.map((text) => texts.findIndex((t) => t.includes(text)));
    expect(at, JSON.stringify(texts)).toEqual([0, 0, 1, 2, 3, 4, 5]);
    expect(texts).toHaveLength(6);
    expect(JSON.stringify(first.body.messages)).not.toContain("only thoughts");

    expect(await e2e.ask(ada, "ada: second turn")).toBe("answer to ada: second turn");
    const second = requestsOf("ada").at(-1)!;
    expect(holding(second, "Please remember the word kestrel-7.")).toBe(1);
    expect(holding(second, "I will remember kestrel-7 for you.")).toBe(1);
    expect(seen(second).filter((t) => t.endsWith("\nada: what do you remember?"))).toHaveLength(1);

    const pid = await e2e.until(() => workerPid("tg-000001.foreground"), "the worker of Ada's chat");
    process.kill(pid, "SIGKILL");
    await e2e.until(() => e2e.logRecords().some((r) => r.msg === "worker exited unexpectedly" && r.pid === pid), "the host saw the worker's exit");
    expect(await e2e.ask(ada, "ada: after the kill")).toBe("answer to ada: after the kill");
    const third = requestsOf("ada").at(-1)!;
    expect(holding(third, "Please remember the word kestrel-7.")).toBe(1);
    expect(holding(third, "I will remember kestrel-7 for you.")).toBe(1);

    const log = e2e.logTail(100_000);
    expect(log).toContain("tg-000001: carried 5 of 6 messages of Stellaclaw's history (conversations/tg-000001/.log/stellaclaw/tg-000001.foreground/session.json)");
  });

  it("worker killed at seed_history (STARLING_WORKER_CRASH_AT): the next worker has the old messages, once", async () => {
    await e2e.hostWith({ STARLING_WORKER_CRASH_AT: "seed_history" });
    expect(await e2e.ask(cyd, "cyd: hello again", { timeoutMs: 40_000 })).toBe("answer to cyd: hello again");
    expect(e2e.logRecords().some((r) => r.msg === "worker start failed" && r.sessionId === "tg-000003.foreground")).toBe(true);
    const [first] = requestsOf("cyd");
    expect(requestsOf("cyd")).toHaveLength(1);
    expect(holding(first!, "Please remember the word osprey-3.")).toBe(1);
    expect(holding(first!, "I will remember osprey-3 for you.")).toBe(1);
    expect(seen(first!).at(-1)).toMatch(/\ncyd: hello again$/);
  });

  it("/new before the first message: the fresh session does not get the old history", async () => {
    await e2e.hostWith();
    expect(await e2e.ask(dee, "/new")).toMatch(/^Started a fresh session/);
    expect(await e2e.ask(dee, "dee: hello")).toBe("answer to dee: hello");
    expect(requestsOf("dee")).toHaveLength(1);
    expect(seen(requestsOf("dee")[0]!)).toHaveLength(1);
  });

  it("a damaged session.json: the import warned naming it, and the chat is answered with a fresh history", async () => {
    await e2e.hostWith();
    expect(await e2e.ask(bob, "bob: hello")).toBe("answer to bob: hello");
    const [only] = seen(requestsOf("bob")[0]!);
    expect(seen(requestsOf("bob")[0]!)).toHaveLength(1);
    expect(only).toMatch(/^\[from Bob .*\]\nbob: hello$/);
    const warning = e2e.logRecords().find((r) => typeof r.msg === "string" && r.msg.startsWith("tg-000002: Stellaclaw's history"));
    expect(warning?.msg).toMatch(/^tg-000002: Stellaclaw's history conversations\/tg-000002\/\.log\/stellaclaw\/tg-000002\.foreground\/session\.json is not JSON \(.+\); the model starts a fresh history$/);
  });
});
