// A session worker that is alive but stuck (here SIGSTOPped: it holds its pipes and answers nothing) must not
// hold its chat, nor through the Telegram poller (one update at a time) every other chat: a /status or /cancel
// waits STARLING_TEST_WORKER_ANSWER_MS (3 s here, 15 s by default) for its answer, then the worker is killed and
// restarted as after a crash, and the chat is told. The real host, supervisor and workers; fakes only at the
// Bot API and the model. No warm spare, so the host's only workers are the two chats' (their pids are told apart
// by which chat started its worker first).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, processAlive, startE2E, type E2E } from "./fixture.js";

const ANSWER_MS = "3000";
/** Waits for a reply: above the 3 s deadline and a worker restart, far below "never" (the failure before the fix). */
const REPLY_WAIT_MS = 30_000;

function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  // The model call of a "[slow]" turn is still running when its worker is stopped.
  return { delayMs: text.includes("[slow]") ? 8_000 : 0, text: `echo: ${text}` };
}

const a = privateChat(2501, "StuckA");
const b = privateChat(2502, "FineB");
let e2e: E2E;
const stopped: number[] = [];

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [a.id, b.id], workers: { warm_spares: 0 } } });
  e2e.start({ STARLING_TEST_WORKER_ANSWER_MS: ANSWER_MS });
});

afterAll(async () => {
  for (const pid of stopped) if (processAlive(pid)) process.kill(pid, "SIGKILL"); // before the fix nothing killed them
  await e2e?.close();
});

/** The pid of the worker that is not `other`'s (the host runs two workers: A's and B's). */
async function workerOtherThan(other: number | null): Promise<number> {
  return e2e.until(() => e2e.host!.workerPids().find((pid) => pid !== other), "the chat's worker");
}

function stop(pid: number): void {
  process.kill(pid, "SIGSTOP");
  stopped.push(pid);
}

/**
 * Stops A's `worker` and sends `command` in A with a message of B's right behind it in the poller: A's reply, once
 * B's message was answered too and the stuck worker is gone.
 */
async function askWhileStuck(worker: number, command: string, fromB: string): Promise<string> {
  stop(worker);
  const reply = e2e.ask(a, command, { timeoutMs: REPLY_WAIT_MS });
  e2e.send(b, fromB);
  const text = await reply;
  await e2e.waitText(b.id, new RegExp(`^echo: [\\s\\S]*${fromB}$`), REPLY_WAIT_MS);
  await e2e.until(() => !processAlive(worker), "the stuck worker gone");
  return text;
}

async function answered(chat: typeof a, text: string): Promise<void> {
  expect(await e2e.ask(chat, text, { timeoutMs: REPLY_WAIT_MS })).toMatch(new RegExp(`^echo: [\\s\\S]*${text}$`));
}

describe("a stuck worker", { timeout: 150_000 }, () => {
  let workerB: number;

  it("/status in its chat answers once the worker missed its deadline, other chats go on, and its chat works again", async () => {
    await answered(a, "hello from A");
    const workerA = await workerOtherThan(null);
    await answered(b, "hello from B");
    workerB = await workerOtherThan(workerA);

    const status = await askWhileStuck(workerA, "/status", "B, while A's worker is stuck");
    expect(status).toMatch(/^Session: ⚠️ the worker did not answer within 3 s \(it was stuck\) and was killed; a new one starts with the next message$/m);

    await answered(a, "A again, after the stuck worker");
    // Its end was handled as a crash (the restart counts toward giving up): /status names it.
    expect(await e2e.ask(a, "/status", { timeoutMs: REPLY_WAIT_MS })).toMatch(/^Last worker error: worker stuck: it did not answer session\/query within 3 s and was killed$/m);
  });

  it("/cancel of a turn whose worker is stuck says so, the turn waits for /continue, and the chat works again", async () => {
    e2e.send(a, "a long task [slow]");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).endsWith("a long task [slow]")), "the turn calling the model");
    const workerA = await workerOtherThan(workerB);
    expect(await askWhileStuck(workerA, "/cancel", "B, while A's turn is stuck")).toBe(
      "⚠️ The session's worker did not answer within 3 s (it was stuck), so it was killed and restarted. The running turn stopped; send /continue to resume it.",
    );

    // Restarted as after a crash, but the turn the user cancelled is not resumed by itself: it waits for /continue.
    await e2e.waitText(a.id, /^⚠️ The last turn was interrupted \(the worker stopped unexpectedly\)\. Send \/continue to resume it\.$/, REPLY_WAIT_MS);
    expect(await e2e.ask(a, "/status", { timeoutMs: REPLY_WAIT_MS })).toMatch(/^Unfinished turn \d+ \(\w+\) — \/continue resumes it$/m);
    expect(e2e.model.requests.filter((r) => lastUserText(r).endsWith("a long task [slow]"))).toHaveLength(1);
    await answered(a, "A after the cancel");
  });

  it("/continue to a stuck idle worker says it was killed and restarted, and the turn continues on the next worker", async () => {
    e2e.send(a, "a task to continue [slow]");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).endsWith("a task to continue [slow]")), "the turn calling the model");
    expect(await e2e.ask(a, "/cancel", { timeoutMs: REPLY_WAIT_MS })).toMatch(/^Cancelled the running turn/);
    // Resting with the cancelled turn unfinished (the worker's own view), then stuck.
    expect(await e2e.ask(a, "/status", { timeoutMs: REPLY_WAIT_MS })).toMatch(/^Unfinished turn \d+ \(\w+\) — \/continue resumes it$/m);
    const workerA = await workerOtherThan(workerB);
    expect(await askWhileStuck(workerA, "/continue", "B, while A's /continue finds its worker stuck")).toBe(
      "⚠️ The session's worker did not answer within 3 s (it was stuck), so it was killed and restarted. The last turn continues once the new worker is ready.",
    );
    // The stored /continue goes to the next worker: the turn's model call is made again and answered.
    await e2e.waitText(a.id, /^echo: [\s\S]*a task to continue \[slow\]$/, REPLY_WAIT_MS);
    expect(e2e.model.requests.filter((r) => lastUserText(r).endsWith("a task to continue [slow]"))).toHaveLength(2);
  });
});
