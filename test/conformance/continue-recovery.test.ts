// Recoverable failures (provider errors, step limit, crashes) and /continue.
import { describe, expect, it } from "vitest";
import type { ScriptedReply } from "../fakes/openai-server.js";
import { liveState, newEnv, pairingProblems, toolItems, transcript, userMessage } from "./harness.js";
import { lastMessage, textOf, userTexts } from "./model-script.js";

describe.concurrent("continue after a failure", () => {
  it("provider 500s beyond the retries: turn_failed (server, can continue); /continue completes it without a new user message", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ status: 500 }, { status: 503 }, { text: "finally" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "please answer"));
    const failed = await w.waitForEvent("turn_failed");
    expect(failed).toMatchObject({ turnId: 1, canContinue: true, error: { kind: "server" } });
    expect(fake.requests).toHaveLength(2); // one attempt plus the one retry of the model config
    expect(w.eventsOf("progress").some((e) => e.phase === "retrying")).toBe(true);
    expect(await liveState(w.client)).toMatchObject({
      state: "awaitingContinue",
      unfinishedTurn: { turnId: 1, reason: "failed" },
    });

    const mark = w.mark();
    expect(await w.client.continue({ reason: "user sent /continue" })).toEqual({ accepted: true });
    const resumed = await w.waitForEvent("turn_started", undefined, { since: mark });
    expect(resumed).toMatchObject({ turnId: 1, messageIds: [] });
    const done = await w.waitForEvent("turn_completed");
    expect(done).toMatchObject({ turnId: 1, message: { content: [{ type: "text", text: "finally" }] } });

    const all = await transcript(w.client);
    expect(all.filter((m) => m.role === "user").map((m) => m.messageId)).toEqual(["m1"]);
    expect(userTexts(fake.requests[2]!)).toEqual(["please answer"]);
    expect((await liveState(w.client)).unfinishedTurn).toBeNull();
  });

  it("401: turn_failed (auth, cannot continue); /continue is rejected; the next message works", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ status: 401 }, { text: "key fixed" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "hi"));
    const failed = await w.waitForEvent("turn_failed");
    expect(failed).toMatchObject({ canContinue: false, error: { kind: "auth", status: 401 } });
    expect(fake.requests).toHaveLength(1); // auth errors are not retried
    const cont = await w.client.continue();
    expect(cont.accepted).toBe(false);
    expect(cont.reason).toBeTruthy();
    await w.client.enqueue(userMessage("m2", "again"));
    const done = await w.waitForEvent("turn_completed");
    expect(done.turnId).toBe(2);
  });

  it("a wrong API key is an auth failure, not a crash", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "unused" }] });
    const w = await start({ env: { FAKE_MODEL_KEY: "wrong-key" } });
    await w.client.enqueue(userMessage("m1", "hi"));
    expect(await w.waitForEvent("turn_failed")).toMatchObject({ canContinue: false, error: { kind: "auth" } });
    expect(w.client.exitStatus).toBeNull();
  });

  it("a new user message instead of /continue clears the pending continuation and runs on the same history", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ status: 500 }, { status: 500 }, { text: "answer to both" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "first"));
    await w.waitForEvent("turn_failed");
    await w.client.enqueue(userMessage("m2", "second"));
    const done = await w.waitForEvent("turn_completed");
    expect(done.turnId).toBe(2);
    expect(userTexts(fake.requests[2]!)).toEqual(["first", "second"]);
    expect((await liveState(w.client)).unfinishedTurn).toBeNull();
    expect((await w.client.continue()).accepted).toBe(false);
  });

  it("step limit: turn_failed (step_limit, can continue); /continue runs more steps", async (ctx) => {
    let answer = false;
    const { fake, start } = await newEnv(ctx, {
      responder: (req): ScriptedReply =>
        answer && lastMessage(req)?.role === "tool" && fake.requests.length >= 5
          ? { text: "done at last" }
          : { toolCalls: [{ name: "shell", arguments: { command: "echo step >> steps.log" } }] },
    });
    const w = await start({ init: { stepLimit: 3 } });
    await w.client.enqueue(userMessage("m1", "loop"));
    const failed = await w.waitForEvent("turn_failed");
    expect(failed).toMatchObject({ turnId: 1, canContinue: true, error: { kind: "step_limit" } });
    expect(fake.requests).toHaveLength(3);
    expect(await liveState(w.client)).toMatchObject({ unfinishedTurn: { reason: "step_limit" } });
    let all = await transcript(w.client);
    expect(toolItems(all).results).toHaveLength(3);
    expect(pairingProblems(all)).toEqual([]);

    answer = true;
    expect(await w.client.continue()).toEqual({ accepted: true });
    const done = await w.waitForEvent("turn_completed");
    expect(done.turnId).toBe(1);
    expect(fake.requests).toHaveLength(5);
    all = await transcript(w.client);
    expect(toolItems(all).results).toHaveLength(4);
    expect(all.filter((m) => m.role === "user")).toHaveLength(1);
  });

  it("a failed turn survives a restart: initialize reports it and /continue right away completes it", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ status: 500 }, { status: 500 }, { text: "after restart" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "q"));
    await w.waitForEvent("turn_failed");
    await w.client.close();

    const again = await start();
    expect(again.init.unfinishedTurn).toEqual({ turnId: 1, reason: "failed" });
    // Sent immediately after initialize, as a host would.
    expect(await again.client.continue()).toEqual({ accepted: true });
    const done = await again.waitForEvent("turn_completed");
    expect(done.turnId).toBe(1);
    expect(fake.requests).toHaveLength(3);
  });

  it("a worker killed during a side-effecting tool: the call gets a crash result, never re-runs, and /continue finishes", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req) => {
        const last = lastMessage(req);
        if (last?.role === "user" && textOf(last) === "go") {
          return { toolCalls: [{ name: "shell", arguments: { command: "echo started >> effects.log; sleep 20" } }] };
        }
        return { text: "ok, I see the crash result" };
      },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "go"));
    await w.waitForEvent("tool_started");
    w.client.kill("SIGKILL");
    expect((await w.exited()).signal).toBe("SIGKILL");

    const again = await start();
    expect(again.init.unfinishedTurn).toEqual({ turnId: 1, reason: "crash" });
    const recovered = await again.waitForEvent("turn_recovered");
    expect(recovered).toMatchObject({ turnId: 1, action: "awaiting_continue", messageIds: ["m1"] });
    expect(await again.client.continue()).toEqual({ accepted: true });
    // The continued turn still names the message it answers (its second turn_started has none).
    expect((await again.waitForEvent("turn_completed")).messageIds).toEqual(["m1"]);
    const all = await transcript(again.client);
    expect(pairingProblems(all)).toEqual([]);
    const { results } = toolItems(all);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ isError: true, synthetic: "crash" });
    expect(results[0]!.content).toMatch(/Interrupted by a crash; outcome unknown/i);
    expect(again.eventsOf("tool_started")).toHaveLength(0);
    expect(fake.requests).toHaveLength(2);
  });

  it("shutdown during a running tool exits 0 promptly; the turn is recoverable and /continue finishes it", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req) =>
        lastMessage(req)?.role === "tool"
          ? { text: "finished after restart" }
          : { toolCalls: [{ name: "shell", arguments: { command: "sleep 600", wait_ms: 300_000 } }] },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "long job"));
    await w.waitForEvent("tool_started");
    // Promptly: the exit comes long before `sleep 600` would end.
    expect(await w.client.shutdown()).toEqual({});
    expect(await w.exited(30_000)).toMatchObject({ code: 0 });

    const again = await start();
    expect(again.init.unfinishedTurn).toMatchObject({ turnId: 1 });
    expect(await again.client.continue()).toEqual({ accepted: true });
    await again.waitForEvent("turn_completed");
    const all = await transcript(again.client);
    expect(pairingProblems(all)).toEqual([]);
    expect(toolItems(all).results).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });
});
