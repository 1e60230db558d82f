// A new user message supersedes a running turn; /cancel stops model calls and kills tool process groups.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostPid } from "../fixtures/host-pid.js";
import { delay, liveState, newEnv, pairingProblems, processGone, toolItems, transcript, until, userMessage } from "./harness.js";
import { lastMessage, textOf, userTexts, wireMessages } from "./model-script.js";

describe.concurrent("supersede", () => {
  it("a new message during a long shell command ends the old turn quickly; the next turn answers it on the same history", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req) => {
        const last = lastMessage(req);
        if (last?.role === "user" && textOf(last) === "first") {
          return { toolCalls: [{ id: "call_sleep", name: "shell", arguments: { command: "sleep 600", wait_ms: 300_000 } }] };
        }
        return { text: `answering: ${userTexts(req).at(-1)}` };
      },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "first"));
    await w.waitForEvent("tool_started", (e) => e.toolName === "shell");
    await w.client.enqueue(userMessage("m2", "second"));
    // The old turn ends without waiting for `sleep 600` (the wait gives up long before the sleep would end).
    const superseded = await w.waitForEvent("turn_superseded", undefined, 30_000);
    expect(superseded.turnId).toBe(1);
    expect(superseded.queuedInputs).toBe(1); // the new message, which the next turn takes
    expect(superseded.messageIds).toEqual(["m1"]); // the messages the interrupted turn took

    const done = await w.waitForEvent("turn_completed");
    expect(done.turnId).toBe(2);
    expect(done.message.content).toEqual([{ type: "text", text: "answering: second" }]);
    expect(done.messageIds).toEqual(["m2"]);
    expect(w.eventsOf("turn_started").map((e) => [e.turnId, e.messageIds])).toEqual([
      [1, ["m1"]],
      [2, ["m2"]],
    ]);
    expect(w.eventsOf("turn_completed").map((e) => e.turnId)).toEqual([2]);
    expect(w.eventsOf("turn_failed")).toHaveLength(0);

    // The model's next request: both user messages, and the interrupted call with its result.
    expect(fake.requests).toHaveLength(2);
    const sent = wireMessages(fake.requests[1]!);
    expect(userTexts(fake.requests[1]!)).toEqual(["first", "second"]);
    const callIds = sent.flatMap((m) => m.tool_calls?.map((c) => c.id) ?? []);
    const resultIds = sent.filter((m) => m.role === "tool").map((m) => m.tool_call_id);
    expect(callIds).toHaveLength(1);
    expect(resultIds).toEqual(callIds);

    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const { results } = toolItems(all);
    expect(results).toHaveLength(1);
    expect(results[0]!.isError).toBe(true);
    expect(results[0]!.content).toMatch(/interrupt/i);
    expect(all.filter((m) => m.role === "user").map((m) => m.messageId)).toEqual(["m1", "m2"]);
  });

  it("a new message in the middle of a batch: later calls of the old turn never run and get a 'superseded' result", async (ctx) => {
    const { dir, fake, start } = await newEnv(ctx, {
      replies: [
        {
          toolCalls: [
            { id: "slow", name: "shell", arguments: { command: "sleep 5", wait_ms: 10000 } },
            { id: "later", name: "file_write", arguments: { file_path: "later.txt", content: "should not exist" } },
          ],
        },
        { text: "ok, the new thing" },
      ],
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "two things"));
    await w.waitForEvent("tool_started", (e) => e.callId === "slow");
    await w.client.enqueue(userMessage("m2", "never mind"));
    await w.waitForEvent("turn_completed");
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const later = toolItems(all).results.find((r) => r.callId === "later");
    expect(later).toMatchObject({ isError: true, synthetic: "superseded" });
    expect(existsSync(join(dir, "later.txt"))).toBe(false);
    const wire = wireMessages(fake.requests[1]!);
    expect(wire.filter((m) => m.role === "tool").map((m) => m.tool_call_id)).toEqual(["slow", "later"]);
  });

  it("a new message during a model call aborts the request and starts the next turn", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ hang: true }, { text: "got both" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "one"));
    await fake.waitForRequests(1);
    await w.client.enqueue(userMessage("m2", "two"));
    const done = await w.waitForEvent("turn_completed");
    expect(done.turnId).toBe(2);
    expect(w.eventsOf("turn_superseded").map((e) => e.turnId)).toEqual([1]);
    await until("the fake saw the first request aborted", () => fake.requests[0]!.aborted);
    expect(userTexts(fake.requests[1]!)).toEqual(["one", "two"]);
  });

  it("an actor message does not interrupt the running turn", async (ctx) => {
    const { fake, start } = await newEnv(ctx, {
      responder: (req) => {
        const last = lastMessage(req);
        if (textOf(last) === "work") return { toolCalls: [{ name: "shell", arguments: { command: "sleep 0.4; echo finished" } }] };
        return { text: `reply to ${textOf(last).slice(0, 40)}` };
      },
    });
    const w = await start();
    await w.client.enqueue(userMessage("u1", "work"));
    await w.waitForEvent("tool_started");
    await w.client.enqueue({ messageId: "a1", kind: "actor", message: { role: "user", content: [{ type: "text", text: "background result" }] } });
    await w.waitForEvent("turn_completed", (e) => e.turnId === 2);
    expect(w.eventsOf("turn_superseded")).toHaveLength(0);
    const first = w.eventsOf("turn_completed").find((e) => e.turnId === 1);
    expect(first).toBeDefined();
    const all = await transcript(w.client);
    const shellResult = toolItems(all).results[0]!;
    expect(shellResult.content).toContain("finished");
    expect(fake.requests.length).toBe(3);
  });
});

describe.concurrent("cancel", () => {
  it("/cancel during a model call aborts the request, ends with turn_cancelled, and /continue resumes without a new user message", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ hang: true }, { text: "resumed answer" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "think hard"));
    await fake.waitForRequests(1);
    expect(await w.client.cancel({ reason: "user pressed /cancel" })).toEqual({ accepted: true });
    const cancelled = await w.waitForEvent("turn_cancelled", undefined, 5000);
    expect(cancelled.turnId).toBe(1);
    await until("the fake saw the request aborted", () => fake.requests[0]!.aborted);

    // Not auto-resumed: the turn waits for /continue (the continue below is accepted, so nothing resumed it
    // before), and the continue's model call is the only one after the cancelled call (checked at the end).
    expect(fake.requests).toHaveLength(1);
    const live = await liveState(w.client);
    expect(live).toMatchObject({ state: "awaitingContinue", unfinishedTurn: { turnId: 1, reason: "cancelled" } });
    expect(await w.client.cancel()).toMatchObject({ accepted: false });

    expect(await w.client.continue()).toEqual({ accepted: true });
    const done = await w.waitForEvent("turn_completed");
    expect(done).toMatchObject({ turnId: 1, message: { content: [{ type: "text", text: "resumed answer" }] } });
    const all = await transcript(w.client);
    expect(all.filter((m) => m.role === "user")).toHaveLength(1);
    expect(userTexts(fake.requests[1]!)).toEqual(["think hard"]);
    expect(fake.requests).toHaveLength(2);
  });

  it("/cancel during a shell command kills its process group, grandchildren included", async (ctx) => {
    const { dir, start } = await newEnv(ctx, {
      responder: (req) =>
        lastMessage(req)?.role === "tool"
          ? { text: "should not be asked" }
          : {
              toolCalls: [
                { name: "shell", arguments: { command: "sleep 30 & echo $! > child.pid; echo $$ > shell.pid; sleep 30", wait_ms: 60000 } },
              ],
            },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "run the long thing"));
    await w.waitForEvent("tool_started");
    let pids: number[] = [];
    await until("the command wrote its pids", () => {
      try {
        pids = ["child.pid", "shell.pid"].map((f) => hostPid(Number.parseInt(readFileSync(join(dir, f), "utf8"), 10), dir));
        return pids.every((p) => p > 0);
      } catch {
        return false;
      }
    });
    expect(pids.every((p) => !processGone(p))).toBe(true);

    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", undefined, 5000);
    await until("both processes are gone", () => pids.every(processGone), 3000);

    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    expect(toolItems(all).results[0]!.isError).toBe(true);
    expect(w.eventsOf("turn_completed")).toHaveLength(0);
  });

  it("/cancel stops a background command that ignores SIGTERM before the turn is reported cancelled", async (ctx) => {
    let requests = 0;
    const { dir, start } = await newEnv(ctx, {
      responder: () =>
        ++requests === 1
          ? { toolCalls: [{ name: "shell", arguments: { command: "trap '' TERM; echo $$ > bg.pid; while :; do sleep 0.05; done", wait_ms: 0 } }] }
          : { hang: true },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "start the watcher, then think"));
    let pid = 0;
    await until("the background command runs and the model is asked again", () => {
      pid = hostPid(Number.parseInt(existsSync(join(dir, "bg.pid")) ? readFileSync(join(dir, "bg.pid"), "utf8") : "0", 10), dir);
      return pid > 0 && requests >= 2;
    });
    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", undefined, 5000);
    // What the chat is told ("cancelled") is already true: nothing the session started still runs.
    expect(processGone(pid)).toBe(true);
  });

  it("/cancel stops a download running in the background: no more bytes fetched, no file left", async (ctx) => {
    let sent = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(1024 * 1024) });
      const timer = setInterval(() => {
        res.write(Buffer.alloc(1024, 1));
        sent += 1024;
      }, 10);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    ctx.onTestFinished(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.bin`;
    let requests = 0;
    const { dir, start } = await newEnv(ctx, {
      responder: () =>
        ++requests === 1
          ? { toolCalls: [{ name: "file_download_start", arguments: { url, path: "big.bin", return_immediate: true } }] }
          : { hang: true },
    });
    const w = await start({ init: { webPrivateNetworks: true } });
    await w.client.enqueue(userMessage("m1", "fetch it"));
    await until("the download runs and the model is asked again", () => sent > 0 && requests >= 2);
    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", undefined, 5000);
    const atCancel = sent;
    await delay(1000);
    expect(sent - atCancel).toBeLessThanOrEqual(2048);
    // Neither the file nor its partial download stays in the workspace.
    expect(readdirSync(dir).filter((f) => f.includes("big.bin"))).toEqual([]);
  });

  it("/cancel in the middle of a batch: the running call is stopped, the later calls never run, every call has one result", async (ctx) => {
    const { dir, start } = await newEnv(ctx, {
      replies: [
        {
          toolCalls: [
            { id: "slow", name: "shell", arguments: { command: "sleep 5", wait_ms: 10000 } },
            { id: "later", name: "file_write", arguments: { file_path: "later.txt", content: "should not exist" } },
          ],
        },
      ],
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "two things"));
    await w.waitForEvent("tool_started", (e) => e.callId === "slow");
    expect(await liveState(w.client)).toMatchObject({ state: "runningTools", toolName: "shell", turnId: 1 });
    const busy = await w.client.continue();
    expect(busy).toMatchObject({ accepted: false, reason: expect.stringMatching(/already running/) });

    expect(await w.client.cancel()).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", undefined, 5000);
    const all = await transcript(w.client);
    expect(pairingProblems(all)).toEqual([]);
    const { results } = toolItems(all);
    expect(results.map((r) => [r.callId, r.isError])).toEqual([
      ["slow", true],
      ["later", true],
    ]);
    expect(results[1]!.synthetic).toBe("cancelled");
    expect(existsSync(join(dir, "later.txt"))).toBe(false);
    expect(w.eventsOf("tool_started").map((e) => e.callId)).toEqual(["slow"]);
  });

  it("/cancel while a turn is yielding to a new message ends that turn once (cancelled), and the new message still runs", async (ctx) => {
    const { start } = await newEnv(ctx, {
      responder: (req) =>
        textOf(lastMessage(req)) === "first"
          ? // The yield lasts the tool's interrupt grace (250 ms) plus, as the command ignores SIGTERM, the kill's grace (200 ms):
            // the /cancel sent right after the new message must come within it (a loaded CI machine once took longer than 250 ms).
            { toolCalls: [{ name: "shell", arguments: { command: "trap '' TERM; sleep 5", wait_ms: 10000 } }] }
          : { text: `answer to ${userTexts(req).join(" + ")}` },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "first"));
    await w.waitForEvent("tool_started");
    await w.client.enqueue(userMessage("m2", "second"));
    expect(await w.client.cancel()).toEqual({ accepted: true });
    const done = await w.waitForEvent("turn_completed");
    expect(done).toMatchObject({ turnId: 2, message: { content: [{ type: "text", text: "answer to first + second" }] } });
    await new Promise((r) => setTimeout(r, 100));
    const endings = w.events
      .filter((e) => ["turn_cancelled", "turn_superseded", "turn_completed", "turn_failed"].includes(e.event.type))
      .map((e) => `${e.event.type}:${"turnId" in e.event ? e.event.turnId : "?"}`);
    expect(endings).toEqual(["turn_cancelled:1", "turn_completed:2"]);
    expect(pairingProblems(await transcript(w.client))).toEqual([]);
  });

  it("cancel with endUnfinished ends a turn waiting for /continue for good, and only that turn", async (ctx) => {
    const { fake, start } = await newEnv(ctx, { replies: [{ hang: true }, { text: "the next answer" }] });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "think hard"));
    await fake.waitForRequests(1);
    // Running: not a turn waiting for a continue, and the request leaves it running.
    expect(await w.client.cancel({ endUnfinished: 1 })).toEqual({ accepted: false, reason: "turn 1 is not waiting for a continue (it is running)" });
    expect(fake.requests[0]!.aborted).toBe(false);
    expect(await w.client.cancel({ reason: "user pressed /cancel" })).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", (e) => e.reason === "user pressed /cancel", 5000);
    expect(await liveState(w.client)).toMatchObject({ state: "awaitingContinue", unfinishedTurn: { turnId: 1 } });

    expect(await w.client.cancel({ endUnfinished: 2 })).toEqual({ accepted: false, reason: "turn 2 is not waiting for a continue (the last turn is turn 1)" });
    expect(await w.client.cancel({ endUnfinished: 1, reason: "given up" })).toEqual({ accepted: true });
    await w.waitForEvent("turn_cancelled", (e) => e.reason === "given up", 5000);
    await until("the session is idle with nothing unfinished", async () => {
      const s = await liveState(w.client);
      return s.state === "idle" && s.unfinishedTurn === null;
    });
    expect(await w.client.continue()).toMatchObject({ accepted: false, reason: expect.stringMatching(/nothing to continue/) });
    expect(await w.client.cancel({ endUnfinished: 1 })).toEqual({ accepted: false, reason: "turn 1 is not waiting for a continue (it is cancelled)" });

    // Not wedged: the next message is a new turn, answered; the ended turn's request was never repeated.
    await w.client.enqueue(userMessage("m2", "something else"));
    const done = await w.waitForEvent("turn_completed");
    expect(done).toMatchObject({ turnId: 2, message: { content: [{ type: "text", text: "the next answer" }] } });
    expect(fake.requests).toHaveLength(2);
    expect(pairingProblems(await transcript(w.client))).toEqual([]);
  });

  it("/cancel with no turn running still stops a background command the agent left running, and says so", async (ctx) => {
    let requests = 0;
    const { dir, start } = await newEnv(ctx, {
      responder: () =>
        ++requests === 1
          ? { toolCalls: [{ name: "shell", arguments: { command: "echo $$ > bg.pid; while :; do date >> bg.log; sleep 0.05; done", wait_ms: 0 } }] }
          : { text: "the watcher runs" },
    });
    const w = await start();
    await w.client.enqueue(userMessage("m1", "start a watcher"));
    await w.waitForEvent("turn_completed");
    // wait_ms 0: the turn may end before the command has written its pid.
    await until("the watcher wrote its pid", () => /^\d+\n/.test(existsSync(join(dir, "bg.pid")) ? readFileSync(join(dir, "bg.pid"), "utf8") : ""));
    const pid = hostPid(Number.parseInt(readFileSync(join(dir, "bg.pid"), "utf8"), 10), dir);
    expect(processGone(pid)).toBe(false);
    const answer = await w.client.cancel();
    expect(answer).toEqual({ accepted: false, reason: "nothing to cancel: no turn is running (stopped 1 command left running in the background)" });
    expect(processGone(pid)).toBe(true);
    // Nothing else to stop now: the plain answer.
    expect(await w.client.cancel()).toEqual({ accepted: false, reason: "nothing to cancel: no turn is running" });
  });

  it("/cancel and /continue when idle are rejected with a reason", async (ctx) => {
    const { start } = await newEnv(ctx, { replies: [{ text: "fine" }] });
    const w = await start();
    const idle = await w.client.cancel();
    expect(idle.accepted).toBe(false);
    expect(idle.reason).toMatch(/nothing to cancel/i);
    const cont = await w.client.continue();
    expect(cont.accepted).toBe(false);
    expect(cont.reason).toMatch(/nothing to continue/i);

    await w.client.enqueue(userMessage("m1", "hi"));
    await w.waitForEvent("turn_completed");
    expect((await w.client.cancel()).accepted).toBe(false);
    expect((await w.client.continue()).accepted).toBe(false);
  });
});
