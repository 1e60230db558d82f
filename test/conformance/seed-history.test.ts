// `initialize.seedHistory` (an imported conversation's history): stored as the first messages of a session whose
// journal never held one, before `initialize` is answered (commit point `seed_history`), and ignored by a session
// that has history; a worker killed right after storing it leaves it stored once.
import { describe, expect, it } from "vitest";
import { ErrorCodes, SEED_HISTORY_MAX_MESSAGES, WorkerRequestError, type SeedMessage } from "@starling/protocol";
import { newEnv, transcript, userMessage } from "./harness.js";
import { textOf, wireMessages } from "./model-script.js";
import type { RecordedRequest } from "../fakes/openai-server.js";

const text = (role: SeedMessage["role"], t: string, userName?: string): SeedMessage => ({
  role,
  time: "2026-05-01T10:00:00Z",
  ...(userName ? { userName } : {}),
  content: [{ type: "text", text: t }],
});
const SEED: SeedMessage[] = [text("user", "my cat is called Heron", "ada"), text("assistant", "Noted: Heron the cat.")];
const OTHER: SeedMessage[] = [text("user", "a seed that must never be stored")];

/** The texts of the request's non-system messages, in order. */
const conversation = (req: RecordedRequest): string[] => wireMessages(req).filter((m) => m.role !== "system").map(textOf);

async function rpcError(p: Promise<unknown>): Promise<WorkerRequestError> {
  const err = await p.then((v) => new Error(`expected an error, got ${JSON.stringify(v)}`), (e: unknown) => e);
  if (!(err instanceof WorkerRequestError)) throw err;
  return err;
}

describe.concurrent("seed history", () => {
  it("a fresh session starts with the seed, the model sees it before the first message; a second start with a seed changes nothing", async (ctx) => {
    const env = await newEnv(ctx, { responder: () => ({ text: "answered" }) });
    const first = await env.start({ init: { seedHistory: SEED } });
    expect(first.init.historyLength).toBe(2);
    await first.client.enqueue(userMessage("m1", "what is my cat called?"));
    await first.waitForEvent("turn_completed");
    expect(conversation(env.fake.requests[0]!)).toEqual([
      "[from ada at 2026-05-01T10:00:00Z]\nmy cat is called Heron",
      "Noted: Heron the cat.",
      "what is my cat called?",
    ]);
    await first.client.close();

    const second = await env.start({ init: { seedHistory: OTHER } });
    expect(second.init.historyLength).toBe(4);
    const texts = (await transcript(second.client)).map((m) => m.content.map((c) => (c.type === "text" ? c.text : "")).join(""));
    expect(texts).toEqual(["my cat is called Heron", "Noted: Heron the cat.", "what is my cat called?", "answered"]);
    await second.client.enqueue(userMessage("m2", "and again?"));
    await second.waitForEvent("turn_completed");
    const seen = conversation(env.fake.requests[1]!);
    expect(seen.filter((t) => t.includes("Heron the cat"))).toHaveLength(1);
    expect(seen.join("\n")).not.toContain("must never be stored");
  });

  it("STARLING_CRASH_AT=seed_history: killed after storing the seed, before answering; the next worker keeps it once", async (ctx) => {
    const env = await newEnv(ctx, { responder: () => ({ text: "answered" }) });
    const dying = env.launch({ env: { STARLING_CRASH_AT: "seed_history" } });
    await expect(dying.client.initialize(env.initParams({ init: { seedHistory: SEED } }))).rejects.toThrow();
    expect((await dying.exited()).signal).toBe("SIGKILL");

    // Another seed this time: what the killed worker stored is what stays.
    const w = await env.start({ init: { seedHistory: OTHER } });
    expect(w.init.historyLength).toBe(2);
    expect(w.init.unfinishedTurn).toBeNull();
    expect((await transcript(w.client)).map((m) => m.content)).toEqual(SEED.map((m) => m.content));
    await w.client.enqueue(userMessage("m1", "what is my cat called?"));
    await w.waitForEvent("turn_completed");
    expect(conversation(env.fake.requests[0]!).filter((t) => t.includes("Heron"))).toHaveLength(2);
  });

  it("a seed with a tool call, no content or more than the bound of messages is refused, naming the field", async (ctx) => {
    const env = await newEnv(ctx);
    const w = env.launch();
    const toolCall = { role: "assistant", time: "t", content: [{ type: "tool_call", id: "c1", name: "shell", arguments: "{}" }] };
    const refused = await rpcError(w.client.raw("initialize", { ...env.initParams(), seedHistory: [toolCall] }));
    expect(refused.code).toBe(ErrorCodes.InvalidParams);
    expect(refused.message).toContain("seedHistory.0.content.0");
    const empty = await rpcError(w.client.raw("initialize", { ...env.initParams(), seedHistory: [{ role: "user", time: "t", content: [] }] }));
    expect(empty.message).toContain("seedHistory.0.content");
    const tooMany = Array.from({ length: SEED_HISTORY_MAX_MESSAGES + 1 }, () => text("user", "x"));
    expect((await rpcError(w.client.raw("initialize", { ...env.initParams(), seedHistory: tooMany }))).message).toContain("seedHistory");
    expect((await w.client.initialize(env.initParams())).historyLength).toBe(0);
  });
});
