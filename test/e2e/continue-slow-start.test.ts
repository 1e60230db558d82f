// A /continue or /status whose session worker is still starting (a loaded machine, a large seed) is answered within
// seconds, not after the worker is ready (up to the 30 s initialize timeout): the continue is stored for the worker,
// /status says the session is starting, and a /cancel sent behind them in the same chat is not held either: it
// withdraws the waiting continue; a continue answered early that the worker then finds nothing to continue for is
// followed by a notice that says so. The real host, supervisor and workers; fakes only at
// the Bot API and the model. The worker command (`agent_server.path`) is a wrapper that waits while a "slow" file
// exists before it runs the real worker, so the test decides when a start ends. No warm spare: one started before
// the file existed would be ready at once.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));
/** Above the host's 5 s answer bound for a /continue, far below the 30 s initialize timeout the old code waited out. */
const ANSWER_WAIT_MS = 15_000;

/** A task's first model call is slow (its turn is running when /cancel comes); the resumed one answers at once. */
const slowCalls = new Set<string>();
function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  const slow = !slowCalls.has(text);
  slowCalls.add(text);
  return { delayMs: slow ? 4_000 : 0, text: `echo: ${text}` };
}

const resumed = privateChat(2701, "ContinueSlowStart");
const withdrawn = privateChat(2702, "CancelBehindSlowContinue");
const finished = privateChat(2703, "ContinueAfterFinishedTurn");
const early = privateChat(2704, "CancelWhileStarting");
const crashed = privateChat(2705, "CancelWhileRecovering");
let e2e: E2E;
let slow: string;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [resumed.id, withdrawn.id, finished.id, early.id, crashed.id], workers: { warm_spares: 0 } } });
  slow = join(e2e.dir, "worker-slow");
  const wrapper = join(e2e.dir, "worker.sh");
  writeFileSync(wrapper, `#!/bin/sh\nwhile [ -e '${slow}' ]; do sleep 0.05; done\nexec '${process.execPath}' '${WORKER_MAIN}' "$@"\n`, { mode: 0o755 });
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(e2e.configPath, JSON.stringify({ ...config, agent_server: { path: wrapper } }, null, 2));
});

afterAll(async () => {
  if (existsSync(slow)) rmSync(slow);
  await e2e?.close();
});

/** What a /cancel hears while the session's worker is still starting. */
const STARTING_CANCEL =
  "Nothing to cancel yet: the session's worker is still starting. A turn it finds interrupted will not be continued automatically (send /continue to resume it); a message waiting for it still runs once it is ready, and /cancel then stops it.";

const taskCalls = (task: string) => e2e.model.requests.filter((r) => lastUserText(r).endsWith(task)).length;

/** `task`'s turn in `chat` cancelled, then the host restarted with worker starts that wait until the test removes `slow`. */
async function cancelledThenSlowStarts(chat: typeof resumed, task: string): Promise<void> {
  if (existsSync(slow)) rmSync(slow);
  if (!e2e.host || e2e.host.child.exitCode !== null) e2e.start();
  e2e.send(chat, task);
  await e2e.until(() => taskCalls(task) === 1, "the turn calling the model");
  expect(await e2e.ask(chat, "/cancel")).toMatch(/^Cancelled the running turn/);
  expect(await e2e.stop()).toEqual({ code: 0, signal: null });
  writeFileSync(slow, "");
  e2e.start();
}

describe("/continue and /status while the session's worker is starting", { timeout: 120_000 }, () => {
  it("are answered before the worker is ready, and the turn continues once it is", async () => {
    const task = "a task resumed after a slow start";
    await cancelledThenSlowStarts(resumed, task);
    expect(await e2e.ask(resumed, "/continue", { timeoutMs: ANSWER_WAIT_MS })).toBe("Continuing the last turn once the session's worker is ready…");
    expect(taskCalls(task), "the worker is still starting: the turn has not been resumed yet").toBe(1);
    const status = await e2e.ask(resumed, "/status", { timeoutMs: ANSWER_WAIT_MS });
    expect(status).toMatch(/^Session: starting$/m);
    expect(existsSync(slow), "answered while the worker was still starting").toBe(true);

    rmSync(slow);
    await e2e.waitText(resumed.id, new RegExp(`^echo: [\\s\\S]*${task}$`), 30_000);
    expect(taskCalls(task)).toBe(2);
    expect(e2e.replies(resumed.id).map((m) => m.text), "a continue that resumed a turn sends no refusal").not.toContainEqual(expect.stringMatching(/^Nothing to continue/));
  });

  it("a /cancel behind it is answered at once, withdraws it, and the turn stays unfinished until the next /continue", async () => {
    const task = "a task whose continue is withdrawn";
    await cancelledThenSlowStarts(withdrawn, task);
    const before = e2e.replies(withdrawn.id).length;
    e2e.send(withdrawn, "/continue");
    e2e.send(withdrawn, "/cancel");
    await e2e.until(() => e2e.replies(withdrawn.id).length >= before + 2, "both commands answered", ANSWER_WAIT_MS);
    expect(e2e.replies(withdrawn.id).slice(before).map((m) => m.text)).toEqual([
      "Continuing the last turn once the session's worker is ready…",
      "Withdrew the /continue that was waiting for the session's worker to start: the turn stays unfinished. Send /continue to resume it.",
    ]);
    expect(existsSync(slow), "both answered while the worker was still starting").toBe(true);

    rmSync(slow);
    // The worker, once ready, did not resume the turn: it still waits for /continue (the worker's own view).
    expect(await e2e.ask(withdrawn, "/status", { timeoutMs: 30_000 })).toMatch(/^Unfinished turn \d+ \(\w+\) — \/continue resumes it$/m);
    expect(taskCalls(task)).toBe(1);
    expect(await e2e.ask(withdrawn, "/continue")).toBe("Continuing the last turn…");
    await e2e.waitText(withdrawn.id, new RegExp(`^echo: [\\s\\S]*${task}$`), 30_000);
    expect(taskCalls(task)).toBe(2);
  });

  it("a /continue answered early is followed by 'nothing to continue' once the worker is ready, when the last turn had finished", async () => {
    const task = "a task that finished before the host stopped";
    if (existsSync(slow)) rmSync(slow);
    if (!e2e.host || e2e.host.child.exitCode !== null) e2e.start();
    e2e.send(finished, task);
    await e2e.waitText(finished.id, new RegExp(`^echo: [\\s\\S]*${task}$`), 30_000);
    expect(await e2e.stop()).toEqual({ code: 0, signal: null });
    writeFileSync(slow, "");
    e2e.start();
    const before = e2e.replies(finished.id).length;
    expect(await e2e.ask(finished, "/continue", { timeoutMs: ANSWER_WAIT_MS })).toBe("Continuing the last turn once the session's worker is ready…");

    rmSync(slow);
    await e2e.waitText(finished.id, /^Nothing to continue after all: the last turn finished\.$/, 30_000);
    // Told once: no second notice, no turn run.
    await e2e.ask(finished, "/status", { timeoutMs: ANSWER_WAIT_MS });
    expect(e2e.replies(finished.id).slice(before).filter((m) => (m.text ?? "").startsWith("Nothing to continue"))).toHaveLength(1);
    expect(taskCalls(task)).toBe(1);
  });

  it("a /cancel while the worker starts for a new message says so at once; sent again once the turn runs, it stops it", async () => {
    const task = "a message sent while the worker starts";
    if (existsSync(slow)) rmSync(slow);
    if (e2e.host && e2e.host.child.exitCode === null) expect(await e2e.stop()).toEqual({ code: 0, signal: null });
    writeFileSync(slow, "");
    e2e.start();
    e2e.send(early, task);
    expect(await e2e.ask(early, "/cancel", { timeoutMs: ANSWER_WAIT_MS })).toBe(
      STARTING_CANCEL,
    );
    expect(existsSync(slow), "answered while the worker was still starting").toBe(true);
    expect(taskCalls(task)).toBe(0);

    rmSync(slow);
    await e2e.until(() => taskCalls(task) === 1, "the message's turn calling the model", 30_000);
    expect(await e2e.ask(early, "/cancel")).toMatch(/^Cancelled the running turn/);
  });

  it("a /cancel while the worker starts after a crash keeps the interrupted turn from being continued automatically", async () => {
    const task = "a task interrupted by a host crash";
    if (existsSync(slow)) rmSync(slow);
    if (!e2e.host || e2e.host.child.exitCode !== null) e2e.start();
    e2e.send(crashed, task);
    await e2e.until(() => taskCalls(task) === 1, "the turn calling the model");
    await e2e.stop("SIGKILL");
    writeFileSync(slow, "");
    e2e.start();
    expect(await e2e.ask(crashed, "/cancel", { timeoutMs: ANSWER_WAIT_MS })).toBe(
      STARTING_CANCEL,
    );
    expect(existsSync(slow), "answered while the worker was still starting").toBe(true);

    rmSync(slow);
    await e2e.waitText(crashed.id, /^⚠️ The last turn was interrupted .*Send \/continue to resume it\.$/, 30_000);
    expect(taskCalls(task), "not continued automatically").toBe(1);
    expect(await e2e.ask(crashed, "/continue")).toBe("Continuing the last turn…");
    await e2e.waitText(crashed.id, new RegExp(`^echo: [\\s\\S]*${task}$`), 30_000);
    expect(taskCalls(task)).toBe(2);
  });
});
