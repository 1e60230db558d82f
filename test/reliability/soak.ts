// Random-kill soak (issue #7): several chats talk to the real `starling` CLI (tool turns, slow turns,
// failing model calls, /cancel, /new) while the harness kill -9s the host or one of its workers at
// random moments. Then everything settles, the host stops, the transcripts are read back, and the
// history checker judges the run. A seed fixes the schedule and the fake model's scripts.
import { privateChat, type FakeChat } from "../fakes/telegram-api.js";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { abandonedByNew, CONTINUE_OFFER, checkHistory, RUN_GIVEN_UP, NEW_SESSION_REPLY, cronRunsIn, cronSlotsIn, DUPLICATE_LABEL, formatViolations, markersIn, type Violation } from "./history.js";
import { recordHistory } from "./record.js";
import { CRON_REMOVE, CRON_SETUP, prng, soakModel } from "./soak-model.js";
import { readAllTranscripts } from "./transcripts.js";

export interface SoakOptions {
  seed: number;
  /** Kills to survive (host and worker together). */
  kills: number;
  chats?: number;
  /** Random gap between kills once the host polls (ms; default 300–2500, the short form goes faster). */
  killGapMs?: [number, number];
  /** How long the end may take to settle (every message answered). */
  settleMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface SoakFigures {
  seed: number;
  durationS: number;
  kills: { host: number; worker: number };
  messages: number;
  answered: number;
  /** Unanswered messages a later /new archived with the old session (not lost: the user started afresh). */
  abandonedByNew: number;
  lost: number;
  unlabelledDuplicates: number;
  labelledDuplicates: number;
  outOfOrder: number;
  toolCalls: number;
  sessions: number;
  commands: { cancel: number; continue: number; new: number };
  faults: { modelErrors: number };
  /** Cron slots whose run is stored in a transcript, and how many of them were answered in the chat. */
  cron: { slotsRun: number; answered: number };
  hostCleanExit: boolean;
}

export interface SoakResult {
  figures: SoakFigures;
  violations: Violation[];
  /** Violations with their history slices ("" when the run kept every promise). */
  report: string;
  /** Settle phases that timed out (each is a `not_wedged` violation too). */
  stalls: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface ChatState {
  chat: FakeChat;
  tag: string;
  sent: number;
  /** Bot messages already scanned for /continue offers. */
  scanned: number;
  /** Messages sent before each /new (what that /new may archive unanswered). */
  sentAtNew: number[];
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { seed } = options;
  const log = options.log ?? (() => undefined);
  const rnd = prng(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo));
  const model = soakModel(seed);
  const chats: ChatState[] = Array.from({ length: options.chats ?? 3 }, (_, i) => ({
    chat: privateChat(9001 + i, `Soak ${i + 1}`),
    tag: `c${i + 1}`,
    sent: 0,
    scanned: 0,
    sentAtNew: [],
  }));
  const e2e: E2E = await startE2E({
    responder: (req) => model.respond(req),
    start: false,
    // Sends paced as in production (the e2e harness turns pacing off): a restart refills the send windows from the stored send times.
    config: { adminUserIds: chats.map((c) => c.chat.id), workers: { max_concurrent_turns: 4 }, recovery: { max_auto_continues: 2 }, channel: { pace_sends: true } },
  });
  // The soak's cron task fires every 3 s (several slots between kills): below the host's once-a-minute minimum.
  e2e.env.STARLING_TEST_CRON_MIN_INTERVAL_SECONDS = "1";
  const startedAt = Date.now();
  const commands = { cancel: 0, continue: 0, new: 0 };
  const kills = { host: 0, worker: 0 };
  let hostCleanExit = false;
  try {
    log(`workdir ${e2e.workdir}`);
    e2e.start();
    const replies = (c: ChatState) => e2e.replies(c.chat.id);
    const answeredMarkers = (c: ChatState) => new Set(replies(c).flatMap((m) => markersIn(m.text ?? "")));
    /** Messages sent before the last /new the host carried out need no answer (history.ts abandonedByNew). */
    const outstanding = (c: ChatState) => {
      const answered = answeredMarkers(c);
      const carriedOut = replies(c).filter((m) => (m.text ?? "").includes(NEW_SESSION_REPLY)).length;
      const from = carriedOut > 0 ? (c.sentAtNew[Math.min(carriedOut, c.sentAtNew.length) - 1] ?? 0) : 0;
      return Array.from({ length: c.sent - from }, (_, i) => `m:${c.tag}-${from + i + 1}`).filter((m) => !answered.has(m)).length;
    };
    const say = (c: ChatState, text: string) => e2e.send(c.chat, text);
    const sendMessage = (c: ChatState, ask = "handle this") => say(c, `Please ${ask} [m:${c.tag}-${++c.sent}]`);
    const cronChat = chats[0]!;
    /** Slots the model was asked to run that the chat has no answer (or /continue offer, or given-up notice, after the slot was due) for yet. */
    const cronOutstanding = () => {
      const asked = new Set(e2e.model.requests.flatMap((r) => cronSlotsIn(JSON.stringify(r.body.messages ?? []))));
      const answered = new Set(replies(cronChat).flatMap((m) => cronRunsIn(m.text ?? "")));
      const reported = (text: string) => text.includes(CONTINUE_OFFER) || text.includes(RUN_GIVEN_UP);
      const lastOffer = Math.max(0, ...replies(cronChat).filter((m) => reported(m.text ?? "")).map((m) => m.sentAt));
      return [...asked].filter((slot) => !answered.has(slot) && Date.parse(slot.slice(slot.indexOf("@") + 1)) > lastOffer);
    };
    /**
     * A user who reads "Send /continue" sends it, a labelled re-send too: it may be the only copy that
     * arrived (the first send's outcome was unknown). A second /continue for one turn is refused harmlessly.
     */
    const reactToOffers = () => {
      for (const c of chats) {
        const all = replies(c);
        for (; c.scanned < all.length; c.scanned++) {
          const text = all[c.scanned]!.text ?? "";
          if (text.includes(CONTINUE_OFFER)) {
            commands.continue++;
            say(c, "/continue");
          }
        }
      }
    };
    const hostAlive = () => !!e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null;

    const killSomething = async (): Promise<void> => {
      const workers = hostAlive() ? e2e.host!.workerPids() : [];
      if (workers.length > 0 && rnd() < 0.6) {
        const pid = workers[Math.floor(rnd() * workers.length)]!;
        try {
          process.kill(pid, "SIGKILL");
          kills.worker++;
          log(`kill -9 worker ${pid} (${kills.host + kills.worker}/${options.kills})`);
        } catch {
          /* it exited on its own just now */
        }
        return;
      }
      if (!hostAlive()) return;
      const host = e2e.host!;
      host.child.kill("SIGKILL");
      await host.exited;
      kills.host++;
      log(`kill -9 host ${host.child.pid} (${kills.host + kills.worker}/${options.kills})`);
      await sleep(between(0, 300));
      e2e.start();
      pollsAtStart = e2e.telegram.calls("getUpdates").length;
      readyAt = null;
    };
    // The next kill is timed from when the host polls again, so a run is not only host start-ups.
    const gap = options.killGapMs ?? [300, 2500];
    let nextKillAt = Date.now() + between(600, 2500);
    let pollsAtStart = 0;
    let readyAt: number | null = Date.now();
    const hostReady = () => {
      if (readyAt === null && e2e.telegram.calls("getUpdates").length > pollsAtStart) {
        readyAt = Date.now();
        nextKillAt = readyAt + between(...gap);
      }
      return readyAt !== null;
    };

    // A cron task (created through the host's cron action, as the model would) fires every 3 s during the kills.
    sendMessage(cronChat, CRON_SETUP);
    await e2e.until(() => outstanding(cronChat) === 0, "the cron task created", 60_000);

    // Talk and kill.
    while (kills.host + kills.worker < options.kills) {
      await sleep(between(60, 350));
      reactToOffers();
      const c = chats[Math.floor(rnd() * chats.length)]!;
      const r = rnd();
      if (r < 0.8) {
        if (outstanding(c) < 3) sendMessage(c);
      } else if (r < 0.86) {
        if (outstanding(c) > 0) {
          commands.cancel++;
          say(c, "/cancel");
        }
      } else if (r < 0.87) {
        // Mid-stream too: whatever the old session had not answered is archived with it.
        commands.new++;
        c.sentAtNew.push(c.sent);
        say(c, "/new");
      }
      if (Date.now() >= nextKillAt && hostReady()) {
        await killSomething();
        nextKillAt = Date.now() + between(...gap);
      }
    }

    // Settle: every message answered (offers of /continue taken up), then one last message per chat.
    const settle = async (what: string) => {
      const began = Date.now();
      const deadline = Date.now() + (options.settleMs ?? 90_000);
      while (Date.now() < deadline) {
        reactToOffers();
        if (!hostAlive()) e2e.start(); // a host that died on its own is a finding too; the checker sees what it lost
        if (chats.every((c) => outstanding(c) === 0) && cronOutstanding().length === 0 && e2e.telegram.pendingUpdates() === 0) return;
        await sleep(100);
      }
      const waiting = chats.map((c) => `${c.tag}: ${outstanding(c)}`).join(", ");
      const line = `settle (${what}): not everything was answered within ${((Date.now() - began) / 1000).toFixed(0)} s without new input (unanswered ${waiting}; cron slots ${cronOutstanding().join(" ") || "none"})`;
      log(line);
      stalls.push(line);
    };
    const stalls: string[] = [];
    const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    log(`kills done after ${elapsed()}; removing the cron task and settling`);
    // The task goes first: while it fires every 3 s some slot is always being run.
    sendMessage(cronChat, CRON_REMOVE);
    await settle("after the kills, cron task removed");
    await sleep(3_500); // a slot admitted just before the removal is run now
    await settle("last cron runs");
    log(`settled after ${elapsed()}`);
    for (const c of chats) sendMessage(c);
    await settle("final messages");
    await sleep(500); // a labelled re-send or a stray duplicate would come right after
    const exit = await Promise.race([e2e.stop("SIGTERM"), sleep(20_000).then(() => null)]);
    hostCleanExit = exit?.code === 0;
    if (!exit) await e2e.stop("SIGKILL");

    const transcripts = await readAllTranscripts(e2e.workdir, e2e.model.url);
    const history = recordHistory(e2e.telegram, startedAt, transcripts);
    const violations = checkHistory(history);
    // A later message wakes a stuck session, so "everything answered in the end" alone would hide a wedge.
    for (const line of stalls) violations.push({ invariant: "not_wedged", message: line, slice: e2e.logTail(40) });
    if (!hostCleanExit) violations.push({ invariant: "not_wedged", message: `the host did not exit 0 on SIGTERM at the end (${JSON.stringify(exit)})`, slice: e2e.logTail(20) });
    const markers = chats.flatMap((c) => Array.from({ length: c.sent }, (_, i) => ({ c, m: `m:${c.tag}-${i + 1}` })));
    const answered = markers.filter(({ c, m }) => answeredMarkers(c).has(m)).length;
    const figures: SoakFigures = {
      seed,
      durationS: Math.round((Date.now() - startedAt) / 100) / 10,
      kills,
      messages: markers.length,
      answered,
      abandonedByNew: chats.reduce((n, c) => n + abandonedByNew(history, c.chat.id).size, 0),
      lost: violations.filter((v) => v.invariant === "answered").length,
      unlabelledDuplicates: violations.filter((v) => v.invariant === "no_unlabelled_duplicate").length,
      labelledDuplicates: history.sends.filter((s) => s.text.includes(DUPLICATE_LABEL)).length,
      outOfOrder: violations.filter((v) => v.invariant === "replies_in_order").length,
      toolCalls: transcripts.reduce((n, t) => n + t.toolCalls.length, 0),
      sessions: transcripts.length,
      commands,
      faults: { modelErrors: model.injectedErrors },
      cron: {
        slotsRun: new Set(transcripts.flatMap((t) => t.cronSlots ?? [])).size,
        answered: new Set(history.sends.flatMap((m) => cronRunsIn(m.text))).size,
      },
      hostCleanExit,
    };
    const report = formatViolations(violations, `soak seed ${seed} (rerun: pnpm soak --seed ${seed} --kills ${options.kills}); workdir ${e2e.workdir}`);
    if (violations.length > 0) process.env.STARLING_E2E_KEEP = "1";
    return { figures, violations, report, stalls };
  } finally {
    await e2e.close();
  }
}
