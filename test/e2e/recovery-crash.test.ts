// kill -9 of the host at the commit points of its recovery bookkeeping (STARLING_CRASH_AT resume_mark,
// auto_continue, continue_offer, giveup; ARCHITECTURE §5.4, §5.6): the host dies right after the write,
// before acting on it, and is restarted without the variable. What the user sees: the turn is continued
// once, never beyond `recovery.max_auto_continues` automatically, the "Send /continue" notice comes once,
// and a /continue the give-up notice asked to re-send is not sent unasked.
// Real host, supervisor and workers; the worker command is a wrapper that fails while a "broken" file exists
// (as in giveup.test.ts), its third failure only once the test allows it. No warm spare: the give-up test
// needs every start to be a session's own.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { HostStore } from "../../packages/host/dist/state/host-store.js";
import { clearResumeMark, resumeMarkedSessions } from "../../packages/host/dist/sessions/recovery.js";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, type E2E, useE2E } from "./fixture.js";

const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));
const chats = { resume: privateChat(831, "Resume mark"), auto: privateChat(832, "Auto continue"), giveup: privateChat(833, "Give-up") };
const INTERRUPTED = /The last turn was interrupted .*Send \/continue to resume it\./s;
const GAVE_UP = /worker failed \d+ times in a row/;

/** A message's first model call never answers (its turn is running when a host or worker dies); later ones answer. */
const asked = new Map<string, number>(); // model calls by the message's [tag]
function respond(req: RecordedRequest): ScriptedReply {
  const tag = /\[([\w-]+)\]/.exec(lastUserText(req))?.[1] ?? "none";
  const n = (asked.get(tag) ?? 0) + 1;
  asked.set(tag, n);
  return n === 1 ? { raw: { steps: [], then: "stall" } } : { text: `Answer to ${tag}.` };
}

let e2e: E2E;
let broken: string;
let failures: string; // one line per broken start
let release: string; // the third and later broken starts fail only once this file exists

useE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id), workers: { warm_spares: 0 } } }, (value) => {
  e2e = value;
  broken = join(e2e.dir, "worker-broken");
  failures = join(e2e.dir, "worker-failures");
  release = join(e2e.dir, "worker-release");
  const wrapper = join(e2e.dir, "worker.sh");
  writeFileSync(
    wrapper,
    [
      "#!/bin/sh",
      `if [ -e '${broken}' ]; then`,
      `  echo x >> '${failures}'`,
      `  if [ "$(wc -l < '${failures}')" -ge 3 ]; then while [ ! -e '${release}' ]; do sleep 0.05; done; fi`,
      "  echo 'starling-worker: libstarling-test.so: cannot open shared object file' >&2; exit 7",
      "fi",
      `exec '${process.execPath}' '${WORKER_MAIN}' "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(e2e.configPath, JSON.stringify({ ...config, agent_server: { path: wrapper } }, null, 2));
});

afterEach(() => {
  writeFileSync(release, ""); // no wrapper left waiting
  for (const file of [broken, failures]) if (existsSync(file)) rmSync(file);
});

const logRecords = () => e2e.logRecords();

/**
 * Starts a host, sends a message whose model call never answers, and waits until the host sees the turn run and
 * its hand-off (with the session's resume mark) is durable: the worker may call the model before the host's
 * `handoff` commit is written, and a host killed in between would restart without the mark.
 */
async function stalledTurn(chat: (typeof chats)[keyof typeof chats], tag: string, env: Record<string, string> = {}) {
  const from = logRecords().length;
  const host = e2e.start(env);
  e2e.send(chat, `a long task [${tag}]`);
  await e2e.until(() => asked.get(tag) === 1, "the model asked for the message");
  await e2e.untilTyping(chat.id);
  await e2e.until(() => since(from, "message handed off").length > 0, "the hand-off written");
  return host;
}

/** Starts a host that kills itself at `point` and waits for that (`act` makes it get there); the log length before. */
async function diesAt(point: string, act: () => void = () => undefined): Promise<number> {
  const before = logRecords().length;
  const host = e2e.start({ STARLING_CRASH_AT: point });
  act();
  await e2e.killedAt(host, point);
  return before;
}

/** The /continue (optional) carried out: `tag`'s turn answered once after one resumed model call; then a clean stop. */
async function answeredOnce(chat: (typeof chats)[keyof typeof chats], tag: string, options: { continue: boolean }): Promise<void> {
  if (options.continue) expect(await e2e.ask(chat, "/continue")).toBe("Continuing the last turn…");
  const answer = new RegExp(`Answer to ${tag}\\.`);
  await e2e.waitText(chat.id, answer);
  // A second copy would be queued with the first; the /status reply is queued after it (the chat's outbox sends in order).
  await e2e.ask(chat, "/status");
  expect(copiesOf(chat.id, answer)).toHaveLength(1);
  expect(asked.get(tag), "the turn resumed once").toBe(2);
  expect(await e2e.stop(), e2e.logTail(30)).toEqual({ code: 0, signal: null });
}

/** The `msg` records a host start (from log record `from` on) wrote. */
const since = (from: number, msg: string) => logRecords().slice(from).filter((l) => l["msg"] === msg);
const copiesOf = (chatId: number, pattern: RegExp) => e2e.replies(chatId).filter((m) => pattern.test(m.text ?? ""));

describe("the host's recovery bookkeeping across a host crash at its commit points", () => {
  // First in the file: the restarted host's count of sessions to bring back is this chat's alone.
  it("host killed at resume_mark: the restarted host brings the session back and the continued turn is answered once", async () => {
    const chat = chats.resume;
    await stalledTurn(chat, "resume");
    await e2e.stop("SIGKILL");
    // The state a race leaves (the soak finding ensureResumeMark fixes): the session's resume mark cleared
    // (the session found resting a moment before) while its turn is still unfinished.
    const store = await HostStore.open(join(e2e.workdir, "state", "host"));
    try {
      const marked = resumeMarkedSessions(store);
      expect(marked, "the turn's session was marked at its hand-off").toHaveLength(1);
      await store.commit(null, (tx) => clearResumeMark(tx, marked[0]!));
    } finally {
      await store.close(); // a failure here must not leave the database locked for the file's other tests
    }

    // Nothing brings the session back at start; /status starts its worker, which reports the crashed turn,
    // and the automatic continue stores the mark first: the host dies there, before the continue is sent.
    const from = await diesAt("resume_mark", () => void e2e.send(chat, "/status"));
    expect(since(from, "supervisor started")[0]).toMatchObject({ sessions: 0 });
    expect(asked.get("resume"), "the continue was not sent").toBe(1);

    const restart = logRecords().length;
    e2e.start();
    const started = await e2e.until(() => since(restart, "supervisor started")[0], "the supervisor started");
    expect(started, "the session is brought back by its mark").toMatchObject({ sessions: 1 });
    await answeredOnce(chat, "resume", { continue: false });
    expect(copiesOf(chat.id, INTERRUPTED), "continued automatically, nobody asked to /continue").toHaveLength(0);
  }, 180_000);

  it("host killed at auto_continue and at continue_offer: no automatic continue beyond the limit, the notice once, /continue answers once", async () => {
    const chat = chats.auto;
    await stalledTurn(chat, "auto");
    await e2e.stop("SIGKILL");
    // The next start's worker reports the crashed turn; its processing counts automatic continue 1 of 2
    // (event_processed, the first such commit of that host) and the host dies before sending it.
    await diesAt("event_processed");
    // This start finds the turn recovered and reported, never resumed: continue 2 of 2 is counted at
    // start, and the host dies before sending it.
    const from = await diesAt("auto_continue");
    expect(since(from, "unfinished turn found at start")[0]?.["decision"]).toEqual({ kind: "continue", attempt: 2 });
    // Both counted continues died with their host: the limit is reached, so the next start asks the user
    // (notice and its once-per-turn mark in one commit) and dies before sending the notice.
    const offer = await diesAt("continue_offer");
    expect(since(offer, "unfinished turn found at start")[0]?.["decision"]).toEqual({ kind: "exhausted", attempts: 2 });
    expect(asked.get("auto"), "no continue was sent").toBe(1);

    e2e.start();
    await e2e.waitText(chat.id, INTERRUPTED);
    const again = await e2e.until(() => since(offer, "unfinished turn found at start")[1], "the restarted host's decision");
    expect(again["decision"]).toEqual({ kind: "exhausted", attempts: 2 });
    // A repeated notice, or a continue beyond the limit, would be queued at this start, before the /status reply.
    await e2e.ask(chat, "/status");
    expect(copiesOf(chat.id, INTERRUPTED), "the notice once").toHaveLength(1);
    expect(asked.get("auto"), "no automatic continue beyond the limit").toBe(1);

    await answeredOnce(chat, "auto", { continue: true });
  }, 180_000);

  it("host killed at giveup: the notice comes once and the /continue it dropped is not sent by the restarted host", async () => {
    const chat = chats.giveup;
    // Four failures give up: the kill below counts as one when the session had not quite come to rest
    // and restarts at once (two quick broken starts, the third waits for `release`), and when it had,
    // the /continue's own starts do (two quick ones, the gated third, a fourth after the release).
    const policy = JSON.stringify({ maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 100 });
    const host = await stalledTurn(chat, "giveup", { STARLING_CRASH_AT: "giveup", STARLING_TEST_RESTART_POLICY: policy });
    const cancelled = logRecords().length;
    expect(await e2e.ask(chat, "/cancel")).toMatch(/^Cancelled the running turn/);
    // Resting (its slot released), the session does not restart the worker killed below by itself.
    await e2e.until(() => since(cancelled, "turn slot released").length > 0, "the session resting");
    writeFileSync(broken, "");
    if (existsSync(release)) rmSync(release);
    for (const pid of host.workerPids()) process.kill(pid, "SIGKILL");
    await e2e.until(() => host.workerPids().length === 0, "the worker gone");
    const from = logRecords().length;
    // The /continue is stored and answered ("will continue") while the third broken start waits; then the
    // starts fail until the session gives up.
    expect(await e2e.ask(chat, "/continue"), "answered before the give-up").toBe("Continuing the last turn once the session's worker is ready…");
    writeFileSync(release, "");
    await e2e.killedAt(host, "giveup");
    expect(since(from, "worker keeps failing; not restarting until the next message")).toHaveLength(1);
    expect(copiesOf(chat.id, GAVE_UP), "the notice not sent before the crash").toHaveLength(0);

    rmSync(broken);
    const restart = logRecords().length;
    e2e.start();
    const started = await e2e.until(() => since(restart, "supervisor started")[0], "the supervisor started");
    expect(started["continues"], "the stored /continue was dropped with the give-up").toBe(0);
    await e2e.waitText(chat.id, GAVE_UP);
    // /status starts the session's worker (its state is in its database); nothing resumes the turn.
    // Its reply comes once the worker answered the query, after the start decided on the turn (which
    // continues nothing): a continue sent unasked would be queued before the reply and also leave the
    // /continue below nothing to resume ("resumed once").
    expect(await e2e.ask(chat, "/status")).toMatch(/^Unfinished turn \d+ \(cancelled\) — \/continue resumes it$/m);
    expect(asked.get("giveup"), "the turn was not continued unasked").toBe(1);
    expect(copiesOf(chat.id, GAVE_UP), "the notice once").toHaveLength(1);

    await answeredOnce(chat, "giveup", { continue: true });
  }, 180_000);
});
