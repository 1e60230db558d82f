// Reasoning on the Responses API end to end: an open_router_responses main model with `reasoning` asks for the
// encrypted reasoning (`include`, `store: false`); the reasoning item of a tool-call reply is stored in the
// session's history and handed back before its function call with the tool result (the fake Responses server
// refuses a follow-up without it, responses-reasoning.ts), also by a worker restarted after a kill -9. Another
// model, of another provider type or another Responses model, never gets it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptedReasoning } from "../fakes/responses-reasoning.js";
import { startFakeResponses, type FakeResponses, type ResponsesReply } from "../fakes/responses-server.js";
import type { RecordedRequest } from "../fakes/scripted-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool as chatAfterTool, startE2E, MODEL_KEY, type E2E } from "./fixture.js";

const chat = privateChat(5190, "Reasoner");
const MAIN = "gpt-5-main";
const OTHER = "gpt-5-other";
let e2e: E2E;
let responses: FakeResponses;

type Item = Record<string, unknown>;
const inputOf = (req: RecordedRequest): Item[] => req.body["input"] as Item[];
const afterTool = (req: RecordedRequest): boolean => inputOf(req).at(-1)?.["type"] === "function_call_output";
/** The `[tag]` of the user message that started the turn. */
const tagOf = (req: RecordedRequest): string => {
  const asked = inputOf(req).filter((item) => item["type"] === "message" && item["role"] === "user" && /\[\w+\]/.test(JSON.stringify(item["content"])));
  return /\[(\w+)\]/.exec(JSON.stringify(asked.at(-1)?.["content"]))?.[1] ?? "none";
};
const thought = (tag: string): string => `The user asked [${tag}]: list the folder with ls, then answer.`;
const answersAfterTool = (tag: string, model = MAIN): RecordedRequest[] =>
  responses.requests.filter((r) => r.body["model"] === model && tagOf(r) === tag && afterTool(r));
/** The input items of the turn's tool call, from its reasoning to the function call, as the request sent them back. */
const cycleItems = (req: RecordedRequest): Item[] => {
  const input = inputOf(req);
  const call = input.findLastIndex((item) => item["type"] === "function_call");
  const start = input.findLastIndex((item, i) => i < call && item["type"] === "message" && item["role"] === "user");
  return input.slice(start + 1, call + 1);
};

function respond(req: RecordedRequest): ResponsesReply {
  const tag = tagOf(req);
  if (!afterTool(req)) return { reasoning: { thought: thought(tag), summary: ["Listing first."] }, functionCalls: [{ name: "ls", arguments: { path: "." } }] };
  // The [kill] turn's first call after its tool hangs: the test kills the worker meanwhile.
  if (tag === "kill" && answersAfterTool(tag).length === 1) return { hang: true };
  // The [away] and [over] turns' calls after the tool wait until /model switches away.
  if ((tag === "away" || tag === "over") && req.body["model"] === MAIN) return { hang: true };
  return { reasoning: { thought: "The listing came back." }, text: `Listed for ${tag} by ${String(req.body["model"])}.` };
}

beforeAll(async () => {
  responses = await startFakeResponses({ apiKey: MODEL_KEY, responder: respond });
  e2e = await startE2E({
    // The chat-completions model (`router`) is asked only after the switch away from the Responses one.
    responder: (req) => ({ text: chatAfterTool(req) ? "Router listed it." : "the router must only finish a cycle" }),
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      mainModel: { provider_type: "open_router_responses", model_name: MAIN, url: responses.url, reasoning: { effort: "medium" } },
      extraModels: {
        other: { provider_type: "open_router_responses", model_name: OTHER, url: responses.url, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], reasoning: { effort: "low" }, retry_mode: "once" },
        router: { provider_type: "open_router_completion", model_name: "router-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], retry_mode: "once" },
      },
      extra: { default_profile: { main_model: "main" } },
    }),
  });
}, 60_000);

afterAll(async () => {
  await e2e?.close();
  await responses?.close();
});

describe("Responses reasoning through the real host and worker", { timeout: 90_000 }, () => {
  it("asks for the encrypted reasoning and hands it back before its function call with the tool result", async () => {
    expect(await e2e.ask(chat, "what is in here? [plain]")).toBe(`Listed for plain by ${MAIN}.`);
    const [first, second] = responses.requests.filter((r) => tagOf(r) === "plain");
    expect(first!.body).toMatchObject({ model: MAIN, reasoning: { effort: "medium" }, include: ["reasoning.encrypted_content"], store: false });
    expect(cycleItems(second!)).toEqual([
      { type: "reasoning", summary: [{ type: "summary_text", text: "Listing first." }], encrypted_content: encryptedReasoning(thought("plain")) },
      { type: "function_call", call_id: expect.any(String), name: "ls", arguments: '{"path":"."}' },
    ]);
    expect(e2e.model.requests).toHaveLength(0);
  });

  it("after a kill -9 of the worker mid-turn, the restarted worker still hands the stored reasoning back", async () => {
    e2e.send(chat, "and now? [kill]");
    await e2e.until(() => answersAfterTool("kill").length === 1 && e2e.host!.workerPids().length > 0, "the model call after the tool");
    for (const pid of e2e.host!.workerPids()) process.kill(pid, "SIGKILL");
    await e2e.waitText(chat.id, /^Listed for kill/, 60_000);
    expect(answersAfterTool("kill").length).toBeGreaterThanOrEqual(2);
    const resumed = answersAfterTool("kill").at(-1)!;
    expect(cycleItems(resumed)[0]).toMatchObject({ type: "reasoning", encrypted_content: encryptedReasoning(thought("kill")) });
    // The earlier turns' reasoning is part of the history the new worker read back too.
    expect(JSON.stringify(inputOf(resumed))).toContain(encryptedReasoning(thought("plain")));
  });

  it("/model to a chat-completions model mid-cycle: it gets the cycle without the encrypted reasoning", async () => {
    e2e.send(chat, "list it elsewhere [away]");
    await e2e.until(() => answersAfterTool("away").length > 0, "the Responses model's call after the tool");
    e2e.send(chat, "/model router");
    await e2e.waitText(chat.id, /Model set to router/);
    expect((await e2e.waitText(chat.id, /Router listed it\.|turn failed/, 30_000)).text).toBe("Router listed it.");
    const sent = JSON.stringify(e2e.model.requests.at(-1)!.body["messages"]);
    expect(sent).toContain('"tool_calls"');
    expect(sent).not.toContain("fake-enc:");
    expect(sent).not.toContain("Listing first.");
  });

  it("/model to another Responses model mid-cycle: it asks for its own reasoning but gets none of the first model's", async () => {
    expect(await e2e.ask(chat, "/model main")).toMatch(/Model set to main/);
    e2e.send(chat, "list it over there [over]");
    await e2e.until(() => answersAfterTool("over").length > 0, "the main model's call after the tool");
    e2e.send(chat, "/model other");
    await e2e.waitText(chat.id, /Model set to other/);
    expect((await e2e.waitText(chat.id, /over by|turn failed/, 30_000)).text).toBe(`Listed for over by ${OTHER}.`);
    const [taken] = answersAfterTool("over", OTHER);
    expect(taken!.body).toMatchObject({ include: ["reasoning.encrypted_content"], reasoning: { effort: "low" } });
    expect(inputOf(taken!).filter((item) => item["type"] === "reasoning")).toEqual([]);
  });
});
