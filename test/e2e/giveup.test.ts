// A session whose worker cannot start gives up after `restart.maxAttempts` failures in a row and tells the
// chat once; its messages are kept, and a /continue or a newer message tries again. And /new drops a
// /continue still waiting for the old session's worker. The real host, supervisor and workers; the worker
// command (`agent_server.path`) is a wrapper that exits at once while a "broken" file exists, like a worker
// binary missing a library. STARLING_TEST_RESTART_POLICY shortens the minute of default backoff.
// No warm spare: a spare starts with the same broken command, and the sessions' own starts are tested here.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));
const FAST_GIVE_UP = JSON.stringify({ maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 });
/** A /continue that fails to start waits a minute for the next attempt: long enough to send /new meanwhile. */
const SLOW_RETRY = JSON.stringify({ maxAttempts: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 });
const NOTICE = /worker failed 3 times in a row/;

/** A "[slow]" message's first model call is slow (the turn is running when /cancel comes); a resumed one answers at once. */
const slowCalls = new Set<string>();
function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  const slow = text.includes("[slow]") && !slowCalls.has(text);
  if (slow) slowCalls.add(text);
  return { delayMs: slow ? 4_000 : 0, text: `echo: ${text}` };
}

const chat = privateChat(821, "GiveUp");
const other = privateChat(822, "NewWithContinue");
const third = privateChat(823, "ContinueThenGiveUp");
const fourth = privateChat(824, "CancelBehindContinue");
let e2e: E2E;
let broken: string;

const logRecords = () => e2e.logRecords();

const notices = (chatId: number) => e2e.replies(chatId).filter((m) => NOTICE.test(m.text ?? ""));

/** `task`'s turn in `chat` cancelled; then the host restarted with a worker that cannot start, retried only after a minute. */
async function cancelledThenBrokenWorker(target: typeof chat, task: string): Promise<void> {
  if (existsSync(broken)) rmSync(broken);
  if (!e2e.host || e2e.host.child.exitCode !== null) e2e.start({ STARLING_TEST_RESTART_POLICY: FAST_GIVE_UP });
  e2e.send(target, task);
  await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes(task)), "the turn calling the model");
  expect(await e2e.ask(target, "/cancel")).toMatch(/^Cancelled the running turn/);
  await e2e.stop();
  writeFileSync(broken, "");
  e2e.start({ STARLING_TEST_RESTART_POLICY: SLOW_RETRY });
}

/**
 * The worker fixed and the host restarted: no stored continue is sent by itself; the user's /continue resumes `task`,
 * answered. Returns where the restarted host's log starts.
 */
async function fixedHostSendsNoContinue(target: typeof chat, task: string): Promise<number> {
  rmSync(broken);
  const restarted = logRecords().length;
  e2e.start();
  const started = await e2e.until(() => logRecords().slice(restarted).find((l) => l["msg"] === "supervisor started"), "the supervisor started");
  expect(started["continues"]).toBe(0);
  expect(await e2e.ask(target, "/continue")).toBe("Continuing the last turn…");
  await e2e.waitText(target.id, new RegExp(`^echo: [\\s\\S]*${task.replace("[", "\\[").replace("]", "\\]")}$`));
  return restarted;
}

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    start: false,
    // Paced sends, as before session 20: unpaced, the third test's /continue, sent right after its worker was killed,
    // got no answer within 45 s in one of five rehearsals (ROAD_MAP: a /continue during a give-up may go unanswered).
    config: { adminUserIds: [chat.id, other.id, third.id, fourth.id], workers: { warm_spares: 0 }, channel: { pace_sends: true } },
  });
  broken = join(e2e.dir, "worker-broken");
  const wrapper = join(e2e.dir, "worker.sh");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nif [ -e '${broken}' ]; then echo 'starling-worker: libstarling-test.so: cannot open shared object file' >&2; exit 7; fi\nexec '${process.execPath}' '${WORKER_MAIN}' "$@"\n`,
    { mode: 0o755 },
  );
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(e2e.configPath, JSON.stringify({ ...config, agent_server: { path: wrapper } }, null, 2));
});

afterAll(async () => {
  await e2e?.close();
});

describe("a session whose worker cannot start", { timeout: 120_000 }, () => {
  it("gives up with one notice naming the failures and the last error, keeps the messages, and /continue or a new message tries again", async () => {
    writeFileSync(broken, "");
    e2e.start({ STARLING_TEST_RESTART_POLICY: FAST_GIVE_UP });
    e2e.send(chat, "first, while the worker is broken");
    const notice = await e2e.waitText(chat.id, NOTICE);
    expect(notice.text).toContain("libstarling-test.so: cannot open shared object file");
    expect(notice.text).toContain("Your messages are kept");
    // Given up: no more starts until the user does something (/status reads the state without starting one).
    expect(await e2e.ask(chat, "/status")).toMatch(/^Last worker error: gave up after 3 failed worker starts in a row; last: worker start failed/m);
    expect(e2e.model.requests).toHaveLength(0);

    // The worker can start again; /continue tries again and the kept message is answered.
    rmSync(broken);
    expect(await e2e.ask(chat, "/continue")).toBe("Trying again: the waiting message goes to a new worker.");
    await e2e.waitText(chat.id, /^echo: [\s\S]*first, while the worker is broken$/);

    // Broken again (and the idle worker gone): a newer message tries again, gives up again (one more
    // notice), and is answered once the worker can start.
    writeFileSync(broken, "");
    for (const pid of e2e.host!.workerPids()) process.kill(pid, "SIGKILL");
    await e2e.until(() => e2e.host!.workerPids().length === 0, "the worker gone");
    e2e.send(chat, "second, broken again");
    await e2e.until(() => notices(chat.id).length === 2, "a second give-up notice");
    rmSync(broken);
    e2e.send(chat, "third, fixed");
    // The kept message and the new one may reach the model in one turn (one reply answers both).
    await e2e.waitText(chat.id, /^echo: [\s\S]*third, fixed$/);
    expect(e2e.model.requests.some((r) => requestText(r).includes("second, broken again"))).toBe(true);
    expect(notices(chat.id)).toHaveLength(2); // one per give-up
  });

  it("/new drops a /continue still waiting for the old session's worker: a restarted host does not send it to the new session", async () => {
    // The worker cannot start now: the /continue is stored and waits (a minute) for the runner's next try.
    await cancelledThenBrokenWorker(other, "a long task [slow]");
    expect(await e2e.ask(other, "/continue")).toBe("Continuing the last turn once the session's worker is ready…");
    expect(await e2e.ask(other, "/new")).toMatch(/^Started a fresh session/);
    await e2e.stop();

    rmSync(broken);
    const before = logRecords().length;
    e2e.start();
    const started = await e2e.until(() => logRecords().slice(before).find((l) => l["msg"] === "supervisor started"), "the supervisor started");
    expect(started).toMatchObject({ sessions: 0, continues: 0 }); // nothing waits for the archived session
    expect(await e2e.ask(other, "hello, new session")).toMatch(/^echo: [\s\S]*hello, new session$/);
    expect(logRecords().slice(before).filter((l) => l["msg"] === "continue sent")).toHaveLength(0);
    expect(e2e.model.requests.filter((r) => lastUserText(r).includes("a long task [slow]"))).toHaveLength(1);
  });

  it("a /continue whose session then gives up is dropped with the give-up, also behind a stalled disk: a restarted host does not send it unasked", async () => {
    if (existsSync(broken)) rmSync(broken);
    await e2e.stop();
    // The give-up's write (the notice, the stored /continue dropped) is held 3 s, and every host write behind it, as
    // by a stalled disk: what session 20's rehearsal looked like (no answer, no log line); the host says so now.
    const before = logRecords().length;
    e2e.start({ STARLING_TEST_RESTART_POLICY: FAST_GIVE_UP, STARLING_STALL_AT: "giveup:3000", STARLING_SLOW_WRITE_MS: "1000" });
    e2e.send(third, "task three [slow]");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("task three [slow]")), "the turn calling the model");
    expect(await e2e.ask(third, "/cancel")).toMatch(/^Cancelled the running turn/);
    writeFileSync(broken, "");
    for (const pid of e2e.host!.workerPids()) process.kill(pid, "SIGKILL");
    await e2e.until(() => e2e.host!.workerPids().length === 0, "the worker gone");

    // Refused once the session gave up (or, on a slow machine, told it will continue first); either way the
    // notice comes too (in either order).
    e2e.send(third, "/continue");
    await e2e.waitText(third.id, /^(⚠️ Could not continue: the session's worker could not be started \(it failed 3 times in a row; last: worker start failed: .*libstarling-test\.so.*\)\. Send \/continue to try again\.|Continuing the last turn(?: once the session's worker is ready)?…)$/s);
    await e2e.waitText(third.id, NOTICE);
    const slow = logRecords().slice(before).find((l) => /^a host database write at giveup has not finished after \d+ s/.test(String(l["msg"])));
    expect(slow, "the stalled write named in the log").toMatchObject({ point: "giveup" });
    await e2e.stop();

    // The turn waits for the user, who was told to send /continue again.
    const restarted = await fixedHostSendsNoContinue(third, "task three [slow]");
    expect(logRecords().slice(restarted).filter((l) => l["msg"] === "continue sent")).toHaveLength(1);
  });

  it("a /cancel right behind a /continue waiting for the worker withdraws it and says so; a restarted host does not send it", async () => {
    // The worker cannot start: the /continue is stored and answered at once (it waits a minute for the next try),
    // so the /cancel sent right behind it is not held; it withdraws the continue, and says that is what it did.
    await cancelledThenBrokenWorker(fourth, "task four [slow]");
    const before = e2e.replies(fourth.id).length;
    e2e.send(fourth, "/continue");
    e2e.send(fourth, "/cancel");
    const answers = (await e2e.waitReplies(fourth.id, before + 2, "the /continue and the /cancel answered")).slice(before).map((m) => m.text);
    expect(answers).toEqual([
      "Continuing the last turn once the session's worker is ready…",
      "Withdrew the /continue that was waiting for the session's worker to start: the turn stays unfinished. Send /continue to resume it.",
    ]);
    await e2e.stop();

    await fixedHostSendsNoContinue(fourth, "task four [slow]");
    expect(e2e.model.requests.filter((r) => lastUserText(r).includes("task four [slow]"))).toHaveLength(2);
  });
});
