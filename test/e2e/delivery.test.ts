// Durability and delivery with the host running: kill -9 of a worker mid-tool, 429 from Telegram,
// a reply longer than one message, ten chats at once.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { processesMatching } from "./host-harness.js";
import { afterTool, isPanel, lastUserText, panels, startE2E, wireMessages, type E2E } from "./fixture.js";

const SLOW = "sleep 6.5"; // the slow shell command the worker is killed in
const TURN_DELAY_MS = 400; // model latency in the concurrency test
const MAX_TURNS = 4;

/** 150 numbered lines, about 9,000 characters. */
const LONG_REPLY = Array.from({ length: 150 }, (_, i) => {
  const n = String(i + 1).padStart(3, "0");
  return `Line ${n}: the marker word is W${n}, followed by some filler text.`;
}).join("\n");

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const tool = afterTool(req);
  if (ask.includes("[slowtool]")) {
    return tool
      ? { text: "Recovered and answered." }
      : { toolCalls: [{ name: "shell", arguments: { command: `${SLOW} && echo slow-done`, wait_ms: 60_000 } }] };
  }
  if (ask.includes("[ratelimit]")) return { delayMs: 1200, text: "Delivered despite the rate limit." };
  if (ask.includes("[long]")) return { text: LONG_REPLY };
  const many = /\[many (\d+)\]/.exec(ask);
  if (many) return { delayMs: TURN_DELAY_MS, text: `Answer for chat ${many[1]}.` };
  return { text: "A default answer." };
}

const crashChat = privateChat(501, "Crash");
const limitChat = privateChat(502, "Limit");
const longChat = privateChat(503, "Long");
const manyChats = Array.from({ length: 10 }, (_, i) => privateChat(511 + i, `Many ${i + 1}`));

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    config: {
      adminUserIds: [crashChat.id, limitChat.id, longChat.id, ...manyChats.map((c) => c.id)],
      workers: { max_concurrent_turns: MAX_TURNS },
    },
  });
});

afterAll(async () => {
  for (const pid of processesMatching(SLOW)) process.kill(pid, "SIGKILL");
  await e2e?.close();
});

function parentOf(pid: number): number {
  return Number(spawnSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim() || 0);
}

/** The worker process among `workers` that `pid` descends from. */
function workerAbove(pid: number, workers: number[]): number | undefined {
  for (let p = pid, hops = 0; p > 1 && hops < 10; p = parentOf(p), hops++) if (workers.includes(p)) return p;
  return undefined;
}

describe("delivery", { timeout: 60_000 }, () => {
  it("recovers a worker killed with kill -9 mid-tool and answers; the tool is not run again", async () => {
    e2e.send(crashChat, "run the slow thing [slowtool]");
    const shell = await e2e.until(() => processesMatching(SLOW)[0], "the slow shell command to run");
    const worker = await e2e.until(() => workerAbove(shell, e2e.host!.workerPids()), "the worker running the command");
    process.kill(worker, "SIGKILL");
    const answer = await e2e.waitText(crashChat.id, /Recovered and answered/, 25_000);
    expect(answer.text).toBe("Recovered and answered.");
    const followUp = e2e.model.requests.find((r) => lastUserText(r).includes("[slowtool]") && afterTool(r))!;
    expect(contentOfLast(followUp)).toMatch(/interrupted by a crash; outcome unknown/i);
    // Not re-run: one tool result (the crash note, not the command's output) and no second call.
    expect(wireMessages(followUp).filter((m) => m.role === "tool")).toHaveLength(1);
    expect(e2e.model.requests.filter((r) => lastUserText(r).includes("[slowtool]") && !afterTool(r))).toHaveLength(1);
    expect(e2e.host!.workerPids()).not.toContain(worker);
    await e2e.until(() => panels(e2e.telegram, crashChat.id).at(-1)?.text?.includes("✅ Done"), "the panel to show done", 5_000);
    expect(panels(e2e.telegram, crashChat.id)).toHaveLength(1);
  });

  it("delivers a reply after Telegram answers 429, waiting retry_after", async () => {
    e2e.send(limitChat, "a reply that will be rate limited [ratelimit]");
    // The panel comes first (sendMessage too); the next sendMessage is the reply.
    await e2e.until(() => e2e.telegram.messages(limitChat.id).some(isPanel), "the progress panel");
    e2e.telegram.failNext("sendMessage", { status: 429, retryAfter: 1 });
    await e2e.waitText(limitChat.id, /Delivered despite the rate limit/);
    const calls = e2e.telegram.calls("sendMessage").filter((c) => String(c.params.chat_id) === String(limitChat.id));
    const limited = calls.find((c) => c.status === 429);
    const delivered = calls.find((c) => c.status === 200 && String(c.params.text).includes("Delivered despite"));
    expect(limited, "a 429 was answered").toBeDefined();
    expect(delivered!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(e2e.replies(limitChat.id).filter((m) => m.text!.includes("Delivered despite"))).toHaveLength(1);
  });

  it("splits a 9,000-character reply into several messages without losing anything", async () => {
    e2e.send(longChat, "give me the long text [long]");
    await e2e.until(() => e2e.replies(longChat.id).some((m) => m.text!.includes("W150")), "the last part of the long reply");
    const parts = e2e.replies(longChat.id).map((m) => m.text!);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
    const all = parts.join("\n");
    let at = -1;
    for (let i = 1; i <= 150; i++) {
      const word = `W${String(i).padStart(3, "0")}`;
      const next = all.indexOf(word);
      expect(next, `${word} is in the reply, in order`).toBeGreaterThan(at);
      at = next;
    }
  });

  it("answers ten chats writing at once, never running more turns than the cap", async () => {
    const first = e2e.model.requests.length;
    manyChats.forEach((chat, i) => e2e.send(chat, `hello from chat ${i + 1} [many ${i + 1}]`));
    for (const [i, chat] of manyChats.entries()) {
      await e2e.waitText(chat.id, new RegExp(`^Answer for chat ${i + 1}\\.$`), 40_000);
    }
    for (const chat of manyChats) expect(e2e.replies(chat.id)).toHaveLength(1);
    // A turn slot is freed only after its model call ended, so within less than one model latency
    // at most MAX_TURNS calls can start.
    const starts = e2e.model.requests.slice(first).map((r) => r.receivedAt);
    for (const t of starts) {
      expect(starts.filter((s) => s <= t && s > t - (TURN_DELAY_MS - 100)).length).toBeLessThanOrEqual(MAX_TURNS);
    }
  });
});

function contentOfLast(req: RecordedRequest): string {
  const last = wireMessages(req).at(-1);
  return typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
}
