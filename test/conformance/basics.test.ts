// Basic turns: a plain reply, a tool turn, duplicate messageIds, FIFO turns and restart of a finished session.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { liveState, newEnv, pairingProblems, toolItems, transcript, userMessage } from "./harness.js";
import { wireMessages } from "./model-script.js";

describe.concurrent("basic turns", () => {
  it("a message that starts a turn is answered after that turn's turn_started (one write, one host wake-up); one sent during a turn is answered at once", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "first" }, { text: "slow", delayMs: 1_500 }, { text: "third" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "hi"));
    // Read right after the answer, without waiting: the turn's start came ahead of it.
    expect(w.eventsOf("turn_started")).toMatchObject([{ turnId: 1, messageIds: ["m1"] }]);
    await w.waitForEvent("turn_completed", (e) => e.turnId === 1);

    // A resting session again.
    await w.client.enqueue(userMessage("m2", "take your time"));
    expect(w.eventsOf("turn_started").map((e) => e.turnId)).toEqual([1, 2]);
    // An actor message during turn 2 (which does not interrupt it) is answered once stored, not when a turn starts.
    const t0 = Date.now();
    await w.client.enqueue({ messageId: "a3", kind: "actor", message: { role: "user", content: [{ type: "text", text: "later" }] } });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(w.eventsOf("turn_completed")).toHaveLength(1);
    const third = await w.waitForEvent("turn_started", (e) => e.turnId === 3);
    expect(third.messageIds).toEqual(["a3"]);
    await w.waitForEvent("turn_completed", (e) => e.turnId === 3);
  });

  it("a reply turn: turn_started then turn_completed with the text and usage", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { replies: [{ text: "Hello, human.", usage: { prompt_tokens: 11, completion_tokens: 3 } }] });
    const w = await start();
    expect(w.init).toMatchObject({ protocolVersion: 1, historyLength: 0, lastEventSeq: 0, unfinishedTurn: null });

    expect(await w.client.enqueue(userMessage("m1", "hi"))).toEqual({ accepted: true, duplicate: false });
    const done = await w.waitForEvent("turn_completed");
    const started = w.eventsOf("turn_started");
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ turnId: done.turnId, messageIds: ["m1"] });
    expect(started[0]!.seq).toBeLessThan(done.seq);
    expect(done.message).toEqual({ role: "assistant", content: [{ type: "text", text: "Hello, human." }] });
    expect(done.usage).toMatchObject({ inputTokens: 11, outputTokens: 3 });
    expect(w.eventsOf("turn_failed")).toHaveLength(0);
    // turn_started stands for the turn's first model call: no `calling_model` progress of its own.
    expect(w.eventsOf("progress")).toEqual([]);

    // The model got the system prompt and the user message.
    expect(fake.requests).toHaveLength(1);
    const sent = wireMessages(fake.requests[0]!);
    expect(sent[0]?.role).toBe("system");
    expect(sent.at(-1)).toMatchObject({ role: "user" });

    const all = await transcript(w.client);
    expect(all.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(all[0]).toMatchObject({ messageId: "m1", content: [{ type: "text", text: "hi" }] });

    const usage = await w.client.query({ view: "usage" });
    expect(usage).toMatchObject({ view: "usage", turns: 1, total: { inputTokens: 11, outputTokens: 3 } });
    const live = await liveState(w.client);
    expect(live).toMatchObject({ state: "idle", turnId: null, unfinishedTurn: null, queuedInputs: 0 });
  });

  it("a tool turn: file_write runs, the file exists, call and result are paired, then the final answer", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, {
      replies: [
        { toolCalls: [{ id: "call_w", name: "file_write", arguments: { file_path: "notes/todo.txt", content: "buy milk\n" } }] },
        { text: "Wrote notes/todo.txt." },
      ],
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "write my todo"));
    const done = await w.waitForEvent("turn_completed");
    expect(done.message.content).toEqual([{ type: "text", text: "Wrote notes/todo.txt." }]);
    expect(readFileSync(join(dir, "notes/todo.txt"), "utf8")).toBe("buy milk\n");

    // tool_started / tool_finished bracket the call, inside the turn.
    const started = w.eventsOf("tool_started");
    const finished = w.eventsOf("tool_finished");
    expect(started).toMatchObject([{ toolName: "file_write", turnId: done.turnId }]);
    expect(finished).toMatchObject([{ toolName: "file_write", isError: false, callId: started[0]!.callId }]);
    expect(started[0]!.seq).toBeLessThan(finished[0]!.seq);
    expect(finished[0]!.seq).toBeLessThan(done.seq);
    // The model call after the tool is announced (step 2); the first one was announced by turn_started.
    const calling = w.eventsOf("progress").filter((p) => p.phase === "calling_model");
    expect(calling).toMatchObject([{ step: 2, turnId: done.turnId }]);
    expect(calling[0]!.seq).toBeGreaterThan(finished[0]!.seq);

    const all = await transcript(w.client);
    expect(all.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(pairingProblems(all)).toEqual([]);
    const call = all[1]!.content[0]!;
    const result = all[2]!.content[0]!;
    expect(call).toMatchObject({ type: "tool_call", name: "file_write" });
    expect(result).toMatchObject({ type: "tool_result", name: "file_write", isError: false });
    if (call.type === "tool_call" && result.type === "tool_result") expect(result.callId).toBe(call.id);

    // The second model request carried the call and its result.
    expect(fake.requests).toHaveLength(2);
    const second = wireMessages(fake.requests[1]!);
    const asked = second.find((m) => m.role === "assistant" && m.tool_calls?.length);
    const answered = second.find((m) => m.role === "tool");
    expect(asked?.tool_calls?.[0]?.function.name).toBe("file_write");
    expect(answered?.tool_call_id).toBe(asked?.tool_calls?.[0]?.id);
  });

  it("several tool calls in one answer run one after another in call order, each with its result", async (ctx) => {
    const append = (id: string, text: string) => ({
      id,
      name: "file_write",
      arguments: { file_path: "order.txt", content: `${text}\n`, mode: "append" },
    });
    const { fake, dir, start } = await newEnv(ctx, {
      replies: [{ toolCalls: [append("c1", "one"), append("c2", "two"), append("c3", "three")] }, { text: "wrote three lines" }],
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "three lines please"));
    await w.waitForEvent("turn_completed");
    expect(readFileSync(join(dir, "order.txt"), "utf8")).toBe("one\ntwo\nthree\n");
    expect(w.eventsOf("tool_started").map((e) => e.callId)).toEqual(["c1", "c2", "c3"]);
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const resultOrder = all.flatMap((m) => m.content.flatMap((i) => (i.type === "tool_result" ? [i.callId] : [])));
    expect(resultOrder).toEqual(["c1", "c2", "c3"]);
    const wire = wireMessages(fake.requests[1]!).filter((m) => m.role === "tool").map((m) => m.tool_call_id);
    expect(wire).toEqual(["c1", "c2", "c3"]);
  });

  it("an unknown tool and unparsable arguments get error results, and the turn goes on", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      replies: [
        {
          toolCalls: [
            { id: "u1", name: "teleport", arguments: { to: "mars" } },
            { id: "b1", name: "file_write", arguments: "{not json" },
          ],
        },
        { text: "sorry, those failed" },
      ],
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "do odd things"));
    const done = await w.waitForEvent("turn_completed");
    expect(done.message.content).toEqual([{ type: "text", text: "sorry, those failed" }]);
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const { results } = toolItems(all);
    expect(results.map((r) => [r.callId, r.isError])).toEqual([
      ["u1", true],
      ["b1", true],
    ]);
    expect(results[0]!.content).toMatch(/teleport/);
    expect(fake.requests).toHaveLength(2);
    expect(w.client.exitStatus).toBeNull();
  });

  it("a repeated messageId is acknowledged as a duplicate and answered once", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, { replies: [{ text: "once", delayMs: 100 }, { text: "second turn" }] });
    const w = await start();
    const [a, b] = await Promise.all([
      w.client.enqueue(userMessage("dup", "hello")),
      w.client.enqueue(userMessage("dup", "hello")),
    ]);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    await w.waitForEvent("turn_completed");
    // Still a duplicate after the turn that answered it.
    expect(await w.client.enqueue(userMessage("dup", "hello"))).toEqual({ accepted: true, duplicate: true });
    // An accepted input is durable before its acknowledgement: had the duplicate been queued, the restart
    // below would find it (queued, its turn unfinished, or its turn in the history).
    expect(w.eventsOf("turn_started")).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
    const all = await transcript(w.client);
    expect(all.filter((m) => m.role === "user").map((m) => m.messageId)).toEqual(["dup"]);
    await w.client.close();

    // And after a restart.
    const again = await start();
    expect(again.init).toMatchObject({ historyLength: 2, unfinishedTurn: null, queuedInputs: 0 });
    expect(await again.client.enqueue(userMessage("dup", "hello"))).toEqual({ accepted: true, duplicate: true });
    expect(await again.client.enqueue(userMessage("new", "next"))).toEqual({ accepted: true, duplicate: false });
    const done = await again.waitForEvent("turn_completed");
    expect(done.turnId).toBe(2);
    expect((await transcript(again.client)).filter((m) => m.role === "user").map((m) => m.messageId)).toEqual(["dup", "new"]);
  });

  it("inputs queued during a turn run as the next turn, in order, and a restart restores the history", async (ctx) => {
    const { fake, dir, start } = await newEnv(ctx, {
      responder: (req) => ({ text: `answer to: ${String((wireMessages(req).at(-1)?.content as string) ?? "")}`, delayMs: 50 }),
    });
    const w = await start();
    await w.client.enqueue(userMessage("a1", "first"));
    await w.waitForEvent("turn_started");
    // An actor message does not interrupt the running turn; it waits for the next one.
    await w.client.enqueue({ messageId: "a2", kind: "actor", message: { role: "user", content: [{ type: "text", text: "second" }] } });
    const first = await w.waitForEvent("turn_completed", (e) => e.turnId === 1);
    const second = await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    expect(first.message.content).toEqual([{ type: "text", text: "answer to: first" }]);
    expect(second.message.content).toEqual([{ type: "text", text: "answer to: second" }]);
    // Nothing was queued when the last turn ended: the host may take that as "the worker rests".
    expect(second.queuedInputs).toBe(0);
    expect(w.eventsOf("turn_superseded")).toHaveLength(0);
    const before = await transcript(w.client);
    await w.client.close();

    const again = await start();
    expect(again.init).toMatchObject({ historyLength: before.length, nextTurnId: 3, unfinishedTurn: null });
    expect(await transcript(again.client)).toEqual(before);
    expect(await again.client.query({ view: "message_detail", index: 0 })).toMatchObject({ message: before[0] });
    // A turn after the restart: a turn_failed or turn_recovered of the restored history would come before it.
    await again.client.enqueue(userMessage("a3", "third"));
    await again.waitForEvent("turn_completed", (e) => e.turnId === 3);
    expect(again.events.map((e) => e.event.type).filter((t) => t.startsWith("turn_"))).toEqual(["turn_started", "turn_completed"]);
  });

  it("shutdown answers and the worker exits 0; closing stdin also ends the worker", async (ctx) => {
    const { start } = await newEnv(ctx);
    const w = await start();
    expect(await w.client.shutdown()).toEqual({});
    expect(await w.exited()).toMatchObject({ code: 0 });

    const w2 = await start();
    w2.client.child.stdin?.end();
    expect(await w2.exited()).toMatchObject({ code: 0 });
  });
});
