// /v1/chat/completions answers with the turn that answered its own message (turn-ending events name
// the messages they answered, and the web log keeps them in `turnEnd.messageIds`): not a previous turn
// whose answer reaches the web log only after the request's message was stored, nor a cron run's turn
// that ends in the same conversation while the request waits; a superseded turn's request gets the
// answer of the turn that took over.
import { afterEach, describe, expect, it } from "vitest";
import { afterTool, lastUserText } from "./fixture.js";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { openEvents, slowReply, startWebE2E, type WebE2E } from "./web-fixture.js";

const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";
const ask = (e2e: WebE2E, conv: string, content: string) =>
  e2e.call("/v1/chat/completions", { method: "POST", json: { model: `conv:${conv}`, messages: [{ role: "user", content }] } });

describe("OpenAI endpoint: the answer of the request's own turn", () => {
  let e2e: WebE2E | undefined;
  afterEach(async () => {
    await e2e?.close();
    e2e = undefined;
  });

  it("a turn that ended before the request but reached the web log after its message is not the answer", async () => {
    e2e = await startWebE2E((req) => ({ text: `echo: ${said(req)}` }));
    // The first reply's move into the web log fails 4 times (0.25 + 0.5 + 1 + 2 s of retries): its turn has
    // ended, its answer waits in the outbox, and the request's message is stored in the web log before it.
    await e2e.start({ STARLING_FAIL_AT: "web_event:1:4" });
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const stream = openEvents(e2e, conv);
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "earlier", message_id: "gap-1" } });
    const held = e2e;
    await stream.wait(() => /web outbox delivery failed; retrying/.test(held.logTail()), "the first reply held in the outbox");
    expect(stream.events.some((e) => e.text === "echo: earlier")).toBe(false);
    const res = await ask(e2e, conv, "later");
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe("echo: later");
    // Both replies, once the first one's write succeeds (the stream may bring them a moment after /v1 answered).
    await stream.wait((ev) => ev.some((e) => e.text === "echo: earlier") && ev.filter((e) => e.turnEnd).length >= 2, "both replies on the event stream");
    // Both turn ends name the client message ids they answered.
    const ends = stream.events.filter((e) => e.turnEnd).map((e) => [e.text, e.turnEnd?.messageIds]);
    expect(ends).toHaveLength(2);
    expect(ends).toContainEqual(["echo: earlier", ["gap-1"]]);
    expect(ends.find(([text]) => text === "echo: later")?.[1]).toHaveLength(1); // the request's generated id
    stream.close();
  }, 60_000);

  it("a request whose turn a newer message superseded is answered by the turn that took both", async () => {
    // "slow" takes 10 s: the newer message interrupts its turn, and the next turn answers both.
    e2e = await startWebE2E((req) => (said(req) === "slow" ? { delayMs: 10_000, text: "echo: slow" } : { text: `echo: ${said(req)}` }));
    await e2e.start();
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const stream = openEvents(e2e, conv);
    const answer = ask(e2e, conv, "slow");
    await stream.wait(() => stream.progress.length > 0, "the first turn running");
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "quick", message_id: "newer-1" } });
    const res = await answer;
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe("echo: quick");
    await stream.wait((ev) => ev.some((e) => e.turnEnd), "the turn end on the event stream");
    const end = stream.events.find((e) => e.turnEnd);
    expect(end?.turnEnd?.messageIds).toHaveLength(2); // the superseded turn's message and the newer one
    expect(end?.turnEnd?.messageIds).toContain("newer-1");
    stream.close();
  }, 30_000);

  it("a stream: true request sent while another turn is under way gets only its own turn's text", async () => {
    // "slow" runs a 1.5 s command, then streams "OLD-TEXT…" slowly. The request arrives during the command; if
    // the old turn's next model call starts streaming (from offset 0) before the request's turn takes over,
    // those pieces must not reach the request's client.
    e2e = await startWebE2E((req) => {
      if (said(req) === "quick") return slowReply("echo: quick", 3, 20);
      if (said(req) !== "slow") return { text: `echo: ${said(req)}` };
      if (!afterTool(req)) return { toolCalls: [{ name: "shell", arguments: { command: "sleep 1.5", wait_ms: 10_000 } }] };
      return slowReply(`OLD-TEXT-${"x".repeat(200)}`, 4, 20);
    });
    await e2e.start();
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const stream = openEvents(e2e, conv);
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "slow", message_id: "slow-1" } });
    await stream.wait(() => stream.progress.some((p) => p.phase === "running_tool"), "the first turn running its command");
    const res = await e2e.call("/v1/chat/completions", { method: "POST", json: { model: `conv:${conv}`, stream: true, messages: [{ role: "user", content: "quick" }] } });
    expect(res.status).toBe(200);
    const chunks = (await res.text()).split("\n\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)));
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(content).toBe("echo: quick");
    // Its own text came as the model wrote it, not only at the end.
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThanOrEqual(3);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    stream.close();
  }, 30_000);

  it("a cron run's turn end in the same conversation is not the answer", async () => {
    // The task runs every second; the request's own turn answers once a run has ended while it waited (the test releases it).
    let releaseRequest!: () => void;
    const requestReleased = new Promise<void>((resolve) => (releaseRequest = resolve));
    e2e = await startWebE2E((req) => {
      const text = lastUserText(req);
      if (text.includes("[Scheduled task 'tick'")) return { text: "cron ran tick" };
      if (text.includes("schedule tick")) {
        if (afterTool(req)) return { text: "scheduled tick" };
        const everySecond = { cron_second: "*", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone: "UTC" };
        return { toolCalls: [{ name: "create_cron_task", arguments: { name: "tick", description: "test task", task: "say you ran", ...everySecond } }] };
      }
      return { holdUntil: requestReleased, text: `echo: ${said(req)}` };
    });
    await e2e.start({ STARLING_TEST_CRON_MIN_INTERVAL_SECONDS: "1" });
    const conv = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id;
    const stream = openEvents(e2e, conv);
    await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text: "schedule tick every second", message_id: "cron-1" } });
    await stream.wait((ev) => ev.some((e) => e.text.includes("cron ran tick")), "a run of the task", 30_000);
    const runsBefore = stream.events.filter((e) => e.text.includes("cron ran tick")).length;
    const answer = ask(e2e, conv, "hello");
    await stream.wait(() => e2e!.model.requests.some((r) => said(r) === "hello"), "the request's turn calling the model");
    const runsWhileWaiting = stream.events.filter((e) => e.text.includes("cron ran tick")).length;
    // Runs did end while the request waited, and their turn ends name no message of the conversation.
    await stream.wait((ev) => ev.filter((e) => e.text.includes("cron ran tick")).length > runsWhileWaiting, "a run that ended while the request waited");
    releaseRequest();
    const res = await answer;
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe("echo: hello");
    expect(stream.events.filter((e) => e.text.includes("cron ran tick")).length).toBeGreaterThan(runsBefore);
    const runs = stream.events.filter((e) => e.text.includes("cron ran tick"));
    expect(runs.every((e) => e.turnEnd?.messageIds?.length === 0)).toBe(true);
    stream.close();
  }, 90_000);
});
