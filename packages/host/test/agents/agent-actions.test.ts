// Agent actions on the host through handleCoordinate with a real store: limits (nesting, max_subagents),
// join before and after the subagent's final event, where answers go (subagent: only its record;
// background agent: the chat, once, labelled), kill, terminate. The supervisor is stopped, so no
// worker starts: the agents' final events are fed in as the supervisor would, inside a commit.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CoordinateAction, CoordinateResult, SessionEvent } from "@starling/protocol";
import type { ConversationService } from "../../src/conversations/conversation-service.js";
import { handleCoordinate } from "../../src/conversations/coordinate.js";
import { openCoordinateEnv, type CoordinateEnv } from "../conversations/coordinate-env.js";
import { writeEventReplies } from "../../src/conversations/event-replies.js";
import { TurnAnswers } from "../../src/conversations/turn-answers.js";
import type { HostStore } from "../../src/state/host-store.js";
import type { ConversationRecord } from "../../src/state/records.js";

let store: HostStore;
let service: ConversationService;
let conversation: ConversationRecord;
let calls = 0;

async function ask(sessionId: string, action: CoordinateAction, payload: Record<string, unknown>): Promise<CoordinateResult> {
  return handleCoordinate(service, sessionId, { action, payload, turnId: 1, callId: `call_${++calls}` });
}

/** The agent session's turn ends with `answer` (what the supervisor does with a durable event). */
async function finish(sessionId: string, event: SessionEvent): Promise<void> {
  await store.commit("event_processed", (tx) => writeEventReplies(service, event, tx, { sessionId, autoContinued: false, autoContinueExhausted: false, turnAbandoned: false }, new TurnAnswers()));
}
const completed = (text: string): SessionEvent => ({ type: "turn_completed", turnId: 1, message: { role: "assistant", content: [{ type: "text", text }] } });

let env: CoordinateEnv;
beforeEach(async () => {
  env = await openCoordinateEnv("starling-agents-");
  ({ store, service, conversation } = env);
});
afterEach(() => env.close());

const fg = () => conversation.foreground.sessionId;
const resultOf = (r: CoordinateResult) => (r.ok ? (r.result as Record<string, unknown>) : { refused: r.error });

describe("agent actions", () => {
  it("a subagent's answer reaches subagent_join, never the chat; nesting and max_subagents are refused by name", async () => {
    const first = resultOf(await ask(fg(), "subagent_start", { description: "count the moons" }));
    expect(first).toEqual({ agent_id: "subagent_0001", session_id: `${conversation.id}.subagent.0001`, status: "started", task: "count the moons" });
    expect(store.inbound().map((i) => i.sessionId)).toEqual([`${conversation.id}.subagent.0001`]);
    expect(store.inbound()[0]!.message.content[0]).toMatchObject({ text: expect.stringContaining("count the moons") });

    expect(resultOf(await ask(`${conversation.id}.subagent.0001`, "subagent_start", { description: "deeper" })).refused).toMatch(/cannot start subagents/);
    await ask(fg(), "subagent_start", { description: "second" });
    expect(resultOf(await ask(fg(), "subagent_start", { description: "third" })).refused).toMatch(
      /2 subagents are already running \(subagent_0001, subagent_0002; at most 2 at once, workers.max_subagents\)/,
    );

    expect(resultOf(await ask(fg(), "subagent_join", { agent_id: "subagent_0001" }))).toMatchObject({ status: "running", waited_seconds: 0 });
    const joining = ask(fg(), "subagent_join", { agent_id: "subagent_0001", timeout_seconds: 10 });
    await finish(`${conversation.id}.subagent.0001`, completed("95 moons"));
    expect(resultOf(await joining)).toMatchObject({ agent_id: "subagent_0001", status: "completed", message: "95 moons" });
    expect(store.outbound()).toEqual([]);
    expect(resultOf(await ask(fg(), "subagent_join", { agent_id: "subagent_0099" })).refused).toMatch(/agent_id: no agent subagent_0099/);
  });

  it("subagent_kill marks it killed and drops its undelivered task; a later answer changes nothing", async () => {
    await ask(fg(), "subagent_start", { description: "slow job" });
    expect(resultOf(await ask(fg(), "subagent_kill", { agent_id: "subagent_0001" }))).toEqual({ killed: true, agent_id: "subagent_0001", status: "killed" });
    expect(store.inbound()).toEqual([]);
    expect(resultOf(await ask(fg(), "subagent_kill", { agent_id: "subagent_0001" }))).toEqual({ killed: false, agent_id: "subagent_0001", status: "killed" });
    await finish(`${conversation.id}.subagent.0001`, completed("too late"));
    const stats = resultOf(await ask(fg(), "get_agent_stats", { agent_id: "subagent_0001" })).agent as Record<string, unknown>;
    expect(stats).toMatchObject({ status: "killed", turn_running: false, queue_position: null });
    expect(stats.message).toBeUndefined();
  });

  it("a background agent's answer goes to the chat once, labelled; terminate suppresses it and works only in background sessions", async () => {
    const started = resultOf(await ask(fg(), "start_background_agent", { task: "write the report" }));
    expect(started.agent_id).toBe("background_0001");
    expect(resultOf(await ask(fg(), "start_background_agent", { task: "x", model: "nope" })).refused).toMatch(/model: "nope" is not a chat model/);
    const session = String(started.session_id);
    await finish(session, completed("report ready"));
    await finish(session, completed("report ready"));
    expect(store.outbound().map((o) => o.payload)).toEqual([{ kind: "text", text: "🤖 background_0001\n\nreport ready" }]);

    expect(resultOf(await ask(fg(), "terminate", {})).refused).toMatch(/only works in a background session/);
    const quiet = String(resultOf(await ask(fg(), "start_background_agent", { task: "check quietly" })).session_id);
    expect(resultOf(await ask(quiet, "terminate", {}))).toEqual({ terminated: true });
    await finish(quiet, completed("nothing new"));
    expect(store.outbound()).toHaveLength(1);
    const list = resultOf(await ask(fg(), "background_agents_list", {})).agents as { agent_id: string; status: string }[];
    expect(list.map((a) => [a.agent_id, a.status])).toEqual([
      ["background_0001", "completed"],
      ["background_0002", "killed"],
    ]);
  });
});
