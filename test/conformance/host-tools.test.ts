// Host tools through the real worker: catalog by session type and hostActions, the host/coordinate
// requests they send (turnId, callId, validated payload), their results and errors, and a call cut
// off by a worker crash, re-asked with the same call id after the restart.
import { describe, expect, it } from "vitest";
import { COORDINATE_ACTION_NAMES, type CoordinateParams, type CoordinateResult, type SessionType } from "@starling/protocol";
import type { RecordedRequest, ScriptedToolCall } from "../fakes/openai-server.js";
import { newEnv, pairingProblems, toolItems, transcript, userMessage } from "./harness.js";
import { lastMessage, textOf } from "./model-script.js";

const ALL_ACTIONS = [...COORDINATE_ACTION_NAMES];

function toolNames(req: RecordedRequest): string[] {
  return ((req.body["tools"] as { function: { name: string } }[] | undefined) ?? []).map((t) => t.function.name);
}

/** Calls `call` for a new user message, then answers with the tool result it saw. */
function oneCall(call: ScriptedToolCall) {
  return (req: RecordedRequest) => {
    const last = lastMessage(req);
    if (last?.role === "tool") return { text: `tool said: ${textOf(last)}` };
    return { toolCalls: [{ id: "call_1", ...call }] };
  };
}

describe.concurrent("host tools", () => {
  it("catalog: none without hostActions; by session type with them (subagents get no cron)", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: () => ({ text: "ok" }) });
    const offered = async (sessionType: SessionType, hostActions?: string[]) => {
      const sessionId = `conf.${sessionType}.${hostActions?.length ?? "none"}`;
      const w = await start({ sessionId, init: { sessionType, ...(hostActions ? { hostActions } : {}) } });
      await w.client.enqueue(userMessage("m1", `hi ${sessionId}`));
      await w.waitForEvent("turn_completed");
      await w.client.shutdown();
      return toolNames(fake.requests.find((r) => textOf(lastMessage(r)) === `hi ${sessionId}`)!);
    };
    const [none, fg, sub, bg] = await Promise.all([
      offered("foreground"),
      offered("foreground", ALL_ACTIONS),
      offered("subagent", ALL_ACTIONS),
      offered("background", ["user_tell", "create_cron_task"]),
    ]);
    expect(none).not.toContain("user_tell");
    expect(fg).toEqual(expect.arrayContaining(["user_tell", "update_plan", "list_cron_tasks", "create_cron_task", "update_cron_task", "remove_cron_task", "get_cron_task"]));
    expect(sub).toEqual(expect.arrayContaining(["user_tell", "update_plan"]));
    expect(sub.filter((n) => n.includes("cron"))).toEqual([]);
    expect(bg.filter((n) => ["user_tell", "update_plan", "create_cron_task", "list_cron_tasks"].includes(n)).sort()).toEqual(["create_cron_task", "user_tell"]);
    // The schema the model sees names every cron field.
    const create = (fake.requests.find((r) => toolNames(r).includes("create_cron_task"))!.body["tools"] as { function: { name: string; parameters: { required: string[] } } }[]).find(
      (t) => t.function.name === "create_cron_task",
    )!;
    expect(create.function.parameters.required).toEqual(expect.arrayContaining(["name", "cron_second", "cron_day_of_week", "task"]));
  });

  it("user_tell: the host gets action, turnId, callId and payload; its answer is the tool result", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { responder: oneCall({ name: "user_tell", arguments: { text: "halfway there" } }) });
    const w = await start({ init: { hostActions: ALL_ACTIONS } });
    const seen: CoordinateParams[] = [];
    w.client.onCoordinate(async (params) => {
      seen.push(params);
      return { ok: true, result: { sent: true, attachments: 0 } };
    });
    await w.client.enqueue(userMessage("m1", "go"));
    const done = await w.waitForEvent("turn_completed");
    expect(seen).toEqual([{ action: "user_tell", turnId: 1, callId: "call_1", payload: { text: "halfway there" } }]);
    expect(done.message.content).toEqual([{ type: "text", text: "tool said: Queued for the user: it is sent in order with your other messages, ahead of your final answer." }]);
    expect(fake.requests).toHaveLength(2);
  });

  it("invalid arguments never reach the host: the error names the field", async (ctx) => {
    const { start } = await newEnv(ctx, {
      responder: oneCall({ name: "update_plan", arguments: { plan: [{ step: "read", status: "doing" }] } }),
    });
    const w = await start({ init: { hostActions: ALL_ACTIONS } });
    const seen: CoordinateParams[] = [];
    w.client.onCoordinate(async (params) => (seen.push(params), { ok: true, result: { updated: true, steps: 1 } }));
    await w.client.enqueue(userMessage("m1", "plan it"));
    await w.waitForEvent("turn_completed");
    const result = toolItems(await transcript(w.client)).results[0]!;
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/plan\.0\.status|plan\[0\]\.status/);
    expect(seen).toEqual([]);
  });

  it("a host refusal and an unexpected host answer become tool errors with the host's words", async (ctx) => {
    const args = { name: "x", description: "d", cron_second: "99", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", task: "t" };
    const { start } = await newEnv(ctx, { responder: oneCall({ name: "create_cron_task", arguments: args }) });
    const w = await start({ init: { hostActions: ALL_ACTIONS } });
    w.client.onCoordinate(async (): Promise<CoordinateResult> => ({ ok: false, error: "cron_second: 99 is out of range (0-59)" }));
    await w.client.enqueue(userMessage("m1", "schedule"));
    await w.waitForEvent("turn_completed");
    const refused = toolItems(await transcript(w.client)).results[0]!;
    expect(refused).toMatchObject({ isError: true });
    expect(refused.content).toContain("cron_second: 99 is out of range (0-59)");

    w.client.onCoordinate(async () => ({ ok: true, result: { surprise: 1 } }));
    await w.client.enqueue(userMessage("m2", "schedule again"));
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    const odd = toolItems(await transcript(w.client)).results[1]!;
    expect(odd.isError).toBe(true);
    expect(odd.content).toMatch(/unexpected result/);
  });

  it("a host that never answers: the call times out with 'outcome unknown', no hang", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: oneCall({ name: "user_tell", arguments: { text: "hello?" } }) });
    const w = await start({ init: { hostActions: ALL_ACTIONS, coordinateTimeoutMs: 300 } });
    w.client.onCoordinate(() => new Promise<CoordinateResult>(() => undefined));
    await w.client.enqueue(userMessage("m1", "go"));
    await w.waitForEvent("turn_completed");
    const result = toolItems(await transcript(w.client)).results[0]!;
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/timed out after 300 ms.*outcome unknown/);
  });

  it("a worker killed during a coordinate call: after the restart it re-asks with the same call id and gets the recorded outcome", async (ctx) => {
    const { start } = await newEnv(ctx, { responder: oneCall({ name: "user_tell", arguments: { text: "once only" } }) });
    // The host's side: it acts once per call id and records the outcome.
    const recorded = new Map<string, CoordinateResult>();
    const asked: string[] = [];
    let sends = 0;
    const host = (kill: () => void) => async (params: CoordinateParams): Promise<CoordinateResult> => {
      asked.push(params.callId!);
      let outcome = recorded.get(params.callId!);
      if (!outcome) {
        sends++;
        outcome = { ok: true, result: { sent: true, attachments: 0 } };
        recorded.set(params.callId!, outcome);
      }
      kill();
      return outcome;
    };
    const first = await start({ init: { hostActions: ALL_ACTIONS } });
    first.client.onCoordinate(host(() => first.client.kill("SIGKILL")));
    await first.client.enqueue(userMessage("m1", "tell me"));
    expect((await first.exited()).signal).toBe("SIGKILL");

    const second = await start({ init: { hostActions: ALL_ACTIONS } });
    second.client.onCoordinate(host(() => undefined));
    expect(second.init.unfinishedTurn).toMatchObject({ turnId: 1, reason: "crash" });
    expect(await second.client.continue({ reason: "auto" })).toEqual({ accepted: true });
    const done = await second.waitForEvent("turn_completed");
    expect(done.message.content).toEqual([{ type: "text", text: "tool said: Queued for the user: it is sent in order with your other messages, ahead of your final answer." }]);
    expect(asked).toEqual(["call_1", "call_1"]);
    expect(sends).toBe(1);
    const all = await transcript(second.client);
    expect(pairingProblems(all)).toEqual([]);
    expect(toolItems(all).results).toHaveLength(1);
  });
});
