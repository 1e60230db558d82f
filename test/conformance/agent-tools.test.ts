// Agent tools through the real worker: which session type gets which (subagents nest one level, so a
// subagent gets none; terminate only in background sessions), what subagent_join sends the host and
// shows the model, and argument errors that never reach the host.
import { describe, expect, it } from "vitest";
import { COORDINATE_ACTION_NAMES, type CoordinateParams, type SessionType } from "@starling/protocol";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { newEnv, toolItems, transcript, userMessage } from "./harness.js";
import { lastMessage, oneToolCall, textOf } from "./model-script.js";

const AGENT_TOOLS = ["subagent_start", "subagent_join", "subagent_kill", "start_background_agent", "terminate", "background_agents_list", "get_agent_stats"];

function agentToolsOffered(req: RecordedRequest): string[] {
  const names = ((req.body["tools"] as { function: { name: string } }[] | undefined) ?? []).map((t) => t.function.name);
  return names.filter((n) => AGENT_TOOLS.includes(n)).sort();
}

describe.concurrent("agent tools", () => {
  it("catalog by session type: subagents get no agent tools, terminate only in background sessions", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: () => ({ text: "ok" }) });
    const offered = async (sessionType: SessionType) => {
      const sessionId = `conf.${sessionType}.agents`;
      const w = await start({ sessionId, init: { sessionType, hostActions: [...COORDINATE_ACTION_NAMES] } });
      await w.client.enqueue(userMessage("m1", `hi ${sessionId}`));
      await w.waitForEvent("turn_completed");
      await w.client.shutdown();
      return agentToolsOffered(fake.requests.find((r) => textOf(lastMessage(r)) === `hi ${sessionId}`)!);
    };
    const [fg, bg, sub] = await Promise.all([offered("foreground"), offered("background"), offered("subagent")]);
    expect(fg).toEqual(["background_agents_list", "get_agent_stats", "start_background_agent", "subagent_join", "subagent_kill", "subagent_start"]);
    expect(bg).toEqual(["background_agents_list", "get_agent_stats", "subagent_join", "subagent_kill", "subagent_start", "terminate"]);
    expect(sub).toEqual([]);
  });

  it("subagent_join: the host gets agent id and timeout; the model sees status and answer", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: oneToolCall({ name: "subagent_join", arguments: { agent_id: "subagent_0002", timeout_seconds: 30 } }) });
    const w = await start({ init: { hostActions: [...COORDINATE_ACTION_NAMES] } });
    const seen: CoordinateParams[] = [];
    w.client.onCoordinate(async (params) => {
      seen.push(params);
      return { ok: true, result: { agent_id: "subagent_0002", status: "completed", message: "42 moons", waited_seconds: 3.2 } };
    });
    await w.client.enqueue(userMessage("m1", "join it"));
    const done = await w.waitForEvent("turn_completed");
    expect(seen).toEqual([{ action: "subagent_join", turnId: 1, callId: "call_1", payload: { agent_id: "subagent_0002", timeout_seconds: 30 } }]);
    const said = done.message.content.map((i) => (i.type === "text" ? i.text : "")).join("");
    expect(said).toContain('"status":"completed"');
    expect(said).toContain('"message":"42 moons"');
  });

  it("an empty agent_id or a negative timeout is refused before the host: the error names the field", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: oneToolCall({ name: "subagent_join", arguments: { agent_id: " ", timeout_seconds: -1 } }) });
    const w = await start({ init: { hostActions: [...COORDINATE_ACTION_NAMES] } });
    const seen: CoordinateParams[] = [];
    w.client.onCoordinate(async (params) => (seen.push(params), { ok: false, error: "not expected" }));
    await w.client.enqueue(userMessage("m1", "join nothing"));
    await w.waitForEvent("turn_completed");
    const result = toolItems(await transcript(w.client)).results[0]!;
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/agent_id/);
    expect(result.content).toMatch(/timeout_seconds/);
    expect(seen).toEqual([]);
  });
});
