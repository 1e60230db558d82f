// Host tools end to end through the real CLI: user_tell reaches the chat before the final answer,
// update_plan shows in the progress panel and /status, and a cron task the agent creates fires once
// at its time, also when the host restarts just before the slot or is killed just after it
// (STARLING_CRASH_AT=cron_slot), also at a cron_slot commit that skips a firing because the previous
// run is still going, while a slot missed during downtime is skipped and reported once. Cron's time is
// a test clock (cron-clock.ts) that stands still until a test steps it past a slot: no test waits for one.
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { CRON_GRACE_MS } from "../../packages/host/dist/cron/cron-runner.js";
import { CRON_SKIPPED as SKIPPED, CronClock, cronDecision, nextMinute, stepUntilFired as stepUntilFiredOn } from "./cron-clock.js";
import { afterTool, lastUserText, panels, requestText, type E2E, useE2E } from "./fixture.js";

const PLAN = [
  { step: "read the notes", status: "completed" },
  { step: "write the summary", status: "in_progress" },
  { step: "check the links", status: "pending" },
];

/** The seconds-first cron fields (UTC) of one moment: the task fires once, at that second. */
function slotFields(at: Date): Record<string, string> {
  return {
    cron_second: String(at.getUTCSeconds()),
    cron_minute: String(at.getUTCMinutes()),
    cron_hour: String(at.getUTCHours()),
    cron_day_of_month: String(at.getUTCDate()),
    cron_month: String(at.getUTCMonth() + 1),
    cron_day_of_week: "*",
    timezone: "UTC",
  };
}

/** Once a minute, at second 0: the tasks that fire more than once. */
const EVERY_MINUTE = { cron_second: "0", cron_minute: "*", cron_hour: "*", cron_day_of_month: "*", cron_month: "*", cron_day_of_week: "*", timezone: "UTC" };

let clock: CronClock;
let slowpokeRuns = 0;
/** The due time of each model request of a 'crashpoke' run, in order. */
const crashpokeDues: string[] = [];

/** The first run of 'slowpoke' (of 'crashpoke') answers once the test releases it. */
let releaseSlowpoke!: () => void;
const slowpokeReleased = new Promise<void>((resolve) => (releaseSlowpoke = resolve));
let releaseCrashpoke!: () => void;
const crashpokeReleased = new Promise<void>((resolve) => (releaseCrashpoke = resolve));

/** Slot of each task, by name, as the model chose it. */
const slots = new Map<string, Date>();

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const scheduled = /\[Scheduled task '([\w-]+)'/.exec(ask);
  // A run of 'fragile' never answers: the test kills its worker every time it is asked.
  if (scheduled?.[1] === "fragile") return { delayMs: 600_000, text: "cron ran fragile" };
  // 'slowpoke' fires every minute; its first run lasts until the test saw firings skipped meanwhile, the later ones answer at once.
  if (scheduled?.[1] === "slowpoke") {
    const run = ++slowpokeRuns;
    return { ...(run === 1 ? { holdUntil: slowpokeReleased } : {}), text: `cron ran slowpoke ${run}` };
  }
  // 'crashpoke' fires every minute; its first run's first model call lasts until the host was killed (at a skipped firing).
  if (scheduled?.[1] === "crashpoke") {
    const due = /, due (\S+) \(/.exec(ask)?.[1] ?? "?";
    crashpokeDues.push(due);
    return { ...(crashpokeDues.length === 1 ? { holdUntil: crashpokeReleased } : {}), text: `cron ran crashpoke due ${due}` };
  }
  if (scheduled) return { text: `cron ran ${scheduled[1]}` };
  const tools = requestText(req);
  if (ask.includes("plan and tell")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "update_plan", arguments: { plan: PLAN, explanation: "summary job" } }] };
    if (!tools.includes("Queued for the user")) return { delayMs: 1200, toolCalls: [{ name: "user_tell", arguments: { text: "halfway: notes read" } }] };
    return { delayMs: 1200, text: "final: summary written" };
  }
  if (ask.includes("tell once")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "user_tell", arguments: { text: "told exactly once" } }] };
    return { text: "told and done" };
  }
  const every = /schedule (\S+) every minute/.exec(ask);
  if (every) {
    if (afterTool(req)) return { text: `scheduled ${every[1]}` };
    return { toolCalls: [{ name: "create_cron_task", arguments: { name: every[1], description: "test task", task: "say you ran", ...EVERY_MINUTE } }] };
  }
  const cron = /schedule (\S+) (?:in (\d+) s|(\d+) s before (\S+))$/.exec(ask);
  if (cron) {
    const name = cron[1]!;
    if (afterTool(req)) return { text: `scheduled ${name}` };
    // In cron time, which stands still until the test steps it: no margin is needed for a slow machine.
    const at = cron[2] ? new Date(clock.now().getTime() + Number(cron[2]) * 1000) : new Date(slots.get(cron[4]!)!.getTime() - Number(cron[3]) * 1000);
    slots.set(name, at);
    const args = { name, description: "test task", task: `say hi from ${name}`, ...slotFields(at) };
    return { toolCalls: [{ name: "create_cron_task", arguments: args }] };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chats = {
  plan: privateChat(901, "Plan"),
  fire: privateChat(902, "Fire"),
  before: privateChat(903, "Before"),
  after: privateChat(904, "After"),
  skipped: privateChat(905, "Skipped"),
  tellCrash: privateChat(906, "Tell crash"),
  fragile: privateChat(907, "Fragile"),
  overlap: privateChat(908, "Overlap"),
  overlapCrash: privateChat(909, "Overlap crash"),
};

useE2E(
  { responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } },
  (value) => (e2e = value),
  { keepHost: true },
);

/**
 * The env of every host no crash point is asked of: tests that need no fresh host share one
 * (`e2e.hostWith(PLAIN)`). Every host of the file runs on the one cron clock (set in beforeAll).
 */
let PLAIN: Record<string, string>;
beforeAll(() => {
  clock = new CronClock(e2e.dir);
  PLAIN = clock.env;
});

const texts = (chatId: number) => e2e.replies(chatId).map((m) => m.text ?? "");
const cronAnswers = (chatId: number, name: string) => texts(chatId).filter((t) => t.includes(`cron ran ${name}`));

/** The `/cron` listing sent after now; a cron run may answer first, so it need not be the next reply. */
async function cronListing(chat: (typeof chats)[keyof typeof chats]) {
  const before = e2e.replies(chat.id).length;
  e2e.telegram.sendCommand(chat, "/cron");
  return e2e.until(() => e2e.replies(chat.id).slice(before).find((m) => (m.text ?? "").startsWith("Scheduled tasks:")), "the /cron listing");
}

/**
 * What stands behind "the slot `at` of task `name` ran (or was skipped) once, and never again": the `/cron`
 * listing, queued after every answer and notice already queued for the chat (a chat's replies are sent in
 * order: a copy of one would be shown before it), shows the task's next run a year on (the slot is never due
 * again). Returns the listing and the firings of the slot the hosts logged (`cron_task_due`, one per
 * `cron_slot` commit, logged after it).
 */
async function slotDone(chat: (typeof chats)[keyof typeof chats], name: string, at: Date) {
  const listing = await cronListing(chat);
  const line = listing.text!.split("\n").find((l) => l.includes(`'${name}':`));
  expect(line, "the task in the /cron listing").toContain(`next ${at.getUTCFullYear() + 1}-`);
  const id = /(cron_\d{4}) '/.exec(line!)![1];
  const firings = e2e.logRecords().filter((r) => r.msg === "cron_task_due" && r.task === id && r.due === at.toISOString());
  return { listing, line: line!, id, firings };
}

/** The agent creates a task due once (a year), `when` it is asked (`in 10 s`, `1 s before ping`, in cron time); resolves with its slot. */
async function schedule(chat: (typeof chats)[keyof typeof chats], name: string, when = "in 10 s"): Promise<Date> {
  const answer = await e2e.ask(chat, `schedule ${name} ${when}`, { timeoutMs: 40_000 });
  expect(answer).toBe(`scheduled ${name}`);
  return slots.get(name)!;
}

const decision = (id: string, due: Date) => cronDecision(e2e, id, due);
const stepUntilFired = (id: string) => stepUntilFiredOn(e2e, clock, id);

/** The id of task `name` in the chat's `/cron` listing. */
async function taskId(chat: (typeof chats)[keyof typeof chats], name: string): Promise<string> {
  const line = (await cronListing(chat)).text!.split("\n").find((l) => l.includes(`'${name}':`));
  return /(cron_\d{4}) '/.exec(line ?? "")![1]!;
}

describe("host tools end to end", () => {
  it("user_tell arrives before the final answer; the plan shows in the panel and in /status", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.plan;
    e2e.send(chat, "plan and tell");
    await e2e.waitText(chat.id, /final: summary written/, 30_000);
    const order = texts(chat.id);
    expect(order.findIndex((t) => t.includes("halfway: notes read"))).toBeGreaterThanOrEqual(0);
    expect(order.findIndex((t) => t.includes("halfway: notes read"))).toBeLessThan(order.findIndex((t) => t.includes("final: summary written")));
    const panel = await e2e.until(() => panels(e2e.telegram, chat.id).find((p) => (p.text ?? "").includes("Took")), "the final panel");
    expect(panel.text).toContain("📋 Plan:");
    expect(panel.text).toContain("✓ read the notes\n▶ write the summary\n○ check the links");
    const status = await e2e.ask(chat, "/status");
    expect(status).toContain("Plan (summary job):");
    expect(status).toContain("▶ write the summary");
  }, 60_000);

  it("the host is killed right after recording a user_tell (coordinate): the re-asked call is not sent twice", async () => {
    const host = await e2e.hostWith({ ...PLAIN, STARLING_CRASH_AT: "coordinate" });
    const chat = chats.tellCrash;
    e2e.send(chat, "tell once");
    await e2e.killedAt(host, "coordinate");
    e2e.start(PLAIN);
    await e2e.waitText(chat.id, /told and done/, 40_000);
    // A second copy of the tell would be sent before the reply to a later command.
    expect(await e2e.ask(chat, "/status")).toMatch(/Conversation:/);
    expect(texts(chat.id).filter((t) => t.includes("told exactly once"))).toHaveLength(1);
  }, 60_000);

  it("a cron task fires once at its time; /cron lists it with buttons", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.fire;
    const at = await schedule(chat, "ping");
    // 'herald', due 1 s before 'ping' and listed after it, fires in a tick whose time is 1 ms before ping's
    // slot: that tick looked at 'ping' first and must have left it.
    const herald = await schedule(chat, "herald", "1 s before ping");
    const [pingId, heraldId] = [await taskId(chat, "ping"), await taskId(chat, "herald")];
    expect(pingId < heraldId, "the tick looks at ping before herald").toBe(true);
    clock.set(new Date(at.getTime() - 1));
    await decision(heraldId, herald);
    expect(e2e.logRecords().filter((r) => r.msg === "cron_task_due" && r.task === pingId), "ping fired before its time").toEqual([]);
    clock.set(at);
    const reply = await e2e.waitText(chat.id, /cron ran ping/, 30_000);
    expect(reply.text).toMatch(/^⏰ ping\n\ncron ran ping$/);
    const { listing, firings } = await slotDone(chat, "ping", at);
    expect(firings).toHaveLength(1);
    expect(cronAnswers(chat.id, "ping")).toHaveLength(1);
    expect(listing.text).toContain(`'ping': ${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} `);
    expect(listing.text).toContain(`(UTC), next ${at.getUTCFullYear() + 1}-`); // the same second next year
    expect(listing.text).toContain(`last ${at.toISOString()}`);
    const buttons = JSON.stringify(listing.replyMarkup);
    expect(buttons).toMatch(/cron:disable:cron_\d{4}/);
    const id = /cron:remove:(cron_\d{4})/.exec(buttons)![1]!;
    e2e.telegram.pressButton(chat, listing.messageId, `cron:remove:${id}`);
    await e2e.waitText(chat.id, new RegExp(`Removed 'ping' \\(${id}\\)`));
  }, 60_000);

  it("the host restarts just before the slot: the task still fires once", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.before;
    const at = await schedule(chat, "before");
    expect(await e2e.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    clock.set(new Date(at.getTime() - 1000));
    e2e.start(PLAIN);
    await e2e.untilLogged((r) => r.msg === "starling host started", "the restarted host up");
    clock.set(at);
    await e2e.waitText(chat.id, /cron ran before/, 30_000);
    const { line, firings } = await slotDone(chat, "before", at);
    expect(line).toContain(`last ${at.toISOString()}`);
    expect(firings, "the restarted host fired the slot once").toHaveLength(1);
    expect(cronAnswers(chat.id, "before")).toHaveLength(1);
    expect(texts(chat.id).some((t) => t.includes("Skipped"))).toBe(false);
  }, 60_000);

  it("the host is killed just after recording the slot (cron_slot): after the restart it does not fire again", async () => {
    const host = await e2e.hostWith({ ...PLAIN, STARLING_CRASH_AT: "cron_slot" });
    const chat = chats.after;
    const at = await schedule(chat, "after");
    clock.set(at);
    await e2e.killedAt(host, "cron_slot");
    e2e.start(PLAIN);
    await e2e.waitText(chat.id, /cron ran after/, 30_000);
    const { firings } = await slotDone(chat, "after", at);
    // The killed host died inside the commit, before logging it; the restarted one found nothing due.
    expect(firings, "the slot was not fired again after the restart").toEqual([]);
    expect(cronAnswers(chat.id, "after")).toHaveLength(1);
  }, 60_000);

  it("a run whose worker dies on every automatic continue is given up with a labelled notice, not left waiting for a /continue nobody can send", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.fragile;
    clock.set(await schedule(chat, "fragile"));
    const runRequests = () => e2e.model.requests.filter((r) => lastUserText(r).includes("[Scheduled task 'fragile'")).length;
    // The run, then its two automatic continues (max_auto_continues 2): each time its worker is killed mid-call.
    for (let asked = 1; asked <= 3; asked++) {
      await e2e.until(() => runRequests() === asked, `model call ${asked} of the run`, 30_000);
      for (const pid of e2e.host!.workerPids()) process.kill(pid, "SIGKILL");
    }
    const notice = await e2e.waitText(chat.id, /given up/, 30_000);
    expect(notice.text).toMatch(/^⏰ fragile\n\n⚠️ This run was interrupted: its worker stopped unexpectedly every time it was continued automatically, so it is given up\. The task runs again at its next scheduled time/);
    // The notice is queued in the commit that decided the recovery: given up, not continued (a fourth call)
    // nor offered (a "Send /continue" notice). Ended, not waiting: a /continue in the chat finds nothing of it.
    expect(texts(chat.id).filter((t) => t.includes("Send /continue"))).toEqual([]);
    expect(runRequests()).toBe(3);
    const before = e2e.replies(chat.id).length;
    e2e.send(chat, "/continue");
    const [reply] = (await e2e.waitReplies(chat.id, before + 1, "the /continue answer")).slice(before);
    expect(reply!.text).toMatch(/nothing to continue/i);
    expect(runRequests()).toBe(3);
  }, 90_000);

  it("firings that come while the task's run is still going are skipped, logged and shown in /cron; the next one after it runs", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.overlap;
    const skipped = () => e2e.logRecords().filter((r) => r.msg === SKIPPED);
    const skippedBefore = skipped().length;
    expect(await e2e.ask(chat, "schedule slowpoke every minute", { timeoutMs: 40_000 })).toBe("scheduled slowpoke");
    const id = await taskId(chat, "slowpoke");
    await stepUntilFired(id);
    await e2e.until(() => slowpokeRuns === 1, "the first run's model call", 30_000);
    // Two slots come while the first run is held in its model call: both are skipped.
    for (let n = 1; n <= 2; n++) {
      const slot = nextMinute(clock.now());
      clock.set(slot);
      expect((await decision(id, slot)).msg, `slot ${n} during the first run`).toBe(SKIPPED);
    }
    releaseSlowpoke();
    await e2e.waitText(chat.id, /cron ran slowpoke 1$/, 30_000);
    await stepUntilFired(id);
    await e2e.waitText(chat.id, /cron ran slowpoke 2$/, 30_000);
    const runRequests = e2e.model.requests.filter((r) => lastUserText(r).includes("[Scheduled task 'slowpoke'"));
    // The second run's input is one firing (the first run's message is in its history): nothing piled up while the first ran.
    const seen = (r: RecordedRequest) => requestText(r).split("[Scheduled task 'slowpoke'").length - 1;
    expect(seen(runRequests[0]!)).toBe(1);
    expect(seen(runRequests[1]!)).toBe(2);
    expect(cronAnswers(chat.id, "slowpoke 1")).toHaveLength(1);
    expect(skipped().length - skippedBefore, "the firings during the first run were skipped").toBeGreaterThanOrEqual(2);

    const listing = await cronListing(chat);
    expect(listing.text).toMatch(/'slowpoke': 0 \* \* \* \* \* \(UTC\), next .*, skipped \d+ firings? while the run due \S+ was still going \(the last due \S+\)/);
    e2e.telegram.pressButton(chat, listing.messageId, `cron:remove:${id}`);
    await e2e.waitText(chat.id, new RegExp(`Removed 'slowpoke' \\(${id}\\)`));
  }, 90_000);

  it("a slot missed while the host was down is skipped, and the chat is told once", async () => {
    await e2e.hostWith(PLAIN);
    const chat = chats.skipped;
    const at = await schedule(chat, "backup");
    await e2e.stop("SIGKILL");
    clock.set(new Date(at.getTime() + CRON_GRACE_MS + 1000)); // the slot and its grace pass while the host is down
    e2e.start(PLAIN);
    await e2e.waitText(chat.id, /Skipped 1 run of 'backup' while Starling was down/, 20_000);
    // The commit that queued the notice admitted no run (it is logged with no due slot), and the slot is never due again.
    const { line, id } = await slotDone(chat, "backup", at);
    expect(line).not.toContain("last ");
    const decided = e2e.logRecords().filter((r) => r.msg === "cron_task_due" && r.task === id);
    expect(decided.map((r) => r.due)).toEqual([null]);
    expect(cronAnswers(chat.id, "backup")).toHaveLength(0);
    expect(texts(chat.id).filter((t) => t.includes("Skipped"))).toHaveLength(1);
  }, 60_000);

  it("the host is killed at a cron_slot commit that skips a firing (its run still going): the skip stays counted, the slot never runs, the run answers once", async () => {
    const env = PLAIN;
    // The task's own session: its 1st cron_slot commit admits the first run, the 2nd (the next slot, that run
    // still in its model call, held until the kill) skips a firing, and the host is killed right after that batch is durable.
    const host = await e2e.hostWith({ ...env, STARLING_CRASH_AT: "cron_slot:2" });
    const chat = chats.overlapCrash;
    expect(await e2e.ask(chat, "schedule crashpoke every minute", { timeoutMs: 40_000 })).toBe("scheduled crashpoke");
    const id = await taskId(chat, "crashpoke");
    const firstSlot = nextMinute(clock.now());
    clock.set(firstSlot);
    const first = await e2e.until(() => crashpokeDues[0], "the first run's model call", 30_000);
    expect(first).toBe(firstSlot.toISOString());
    clock.set(nextMinute(clock.now()));
    await e2e.killedAt(host, "cron_slot:2");
    releaseCrashpoke(); // the call cut by the kill stays unanswered; the one the restart resumes answers

    e2e.start(env);
    await e2e.waitText(chat.id, new RegExp(`cron ran crashpoke due ${first}`), 30_000);
    // Lose nothing: the skip decided in the crashed batch is counted behind the first run (read before a
    // later run can start a stretch of its own).
    const listing = await cronListing(chat);
    expect(listing.text).toMatch(new RegExp(`'crashpoke': .*, skipped \\d+ firings? while the run due ${first.replace(/[.]/g, "\\.")} was still going`));

    const answered = () => texts(chat.id).flatMap((t) => /cron ran crashpoke due (\S+)/.exec(t)?.[1] ?? []);
    await stepUntilFired(id);
    await e2e.until(() => answered().some((due) => due !== first), "a run after the first", 30_000);
    // A run starts only after the one before it ended, so a second answer of the first run, or a run of the
    // slot skipped in the crashed batch, would be queued by now; the /cron reply is queued after them, and
    // the chat's outbox sends in order.
    const after = await cronListing(chat);
    // Double nothing: each run answered once, and the slot skipped in the crashed batch was never run.
    expect(new Set(answered()).size).toBe(answered().length);
    expect(answered().filter((due) => due === first)).toHaveLength(1);
    expect(crashpokeDues).not.toContain(new Date(Date.parse(first) + 60_000).toISOString());
    // Skips after the restart behind the same run go on counting from the crashed batch's one (which the
    // killed host never logged): none is the first of its stretch.
    const laterSkips = e2e.logRecords().filter((r) => r.msg === SKIPPED && r.runDue === first);
    expect(laterSkips.map((r) => r.skippedInARow).filter((n) => n === 1)).toEqual([]);

    e2e.telegram.pressButton(chat, after.messageId, `cron:remove:${id}`);
    await e2e.waitText(chat.id, new RegExp(`Removed 'crashpoke' \\(${id}\\)`));
  }, 120_000);
});
