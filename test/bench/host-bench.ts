// Part B: the whole server — real `starling` host + workers against the fake Telegram Bot API
// and the zero-latency fake model — beside a minimal telegraf bot measured in the same run.
import { readdirSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../fakes/telegram-api.js";
import {
  cwdOf,
  hostConfig,
  startFloorBot,
  startHost,
  until,
  workerPids,
  type HostConfigOptions,
  type RunningProcess,
} from "./host-process.js";
import { memoryOf, sleep, type Memory } from "./proc.js";
import { summarize, type Summary } from "./stats.js";
import { countSyncs, type SyncCount } from "./sync-count.js";
import { closedLoop, preciseNow, replyFor, ReplyWatcher, type LoadResult } from "./telegram-driver.js";

export interface HostBenchOptions {
  outDir: string;
  /** Closed-loop rounds per concurrency level (after one warm-up round). */
  levels: { conversations: number; rounds: number }[];
  recoveryTrials: number;
  slowModelDelayMs: number;
  manyConversations: number;
  manyDeadlineMs: number;
  /** Send the same chats a second message once the first flood is over. */
  secondFlood: boolean;
  /** Also run each level against a host with null workers (test/bench/null-worker.mjs). */
  nullWorkers: boolean;
  /** Turns of the fsync count under strace (0 skips it). */
  syncTurns: number;
  log: (line: string) => void;
}

export interface HostBenchResult {
  config: { latency: Partial<HostConfigOptions>; many: Partial<HostConfigOptions> };
  /** `nullHost`: the same host with null workers (null-worker.mjs), the floor of a process per conversation; null when skipped. */
  e2e: { conversations: number; host: LoadResult; floor: LoadResult; nullHost: LoadResult | null }[];
  recovery: { trials: { recoveryMs: number; killToModelRequestMs: number | null }[]; recoveryMs: Summary; modelDelayMs: number } | null;
  hostAfterLatency: { memory: Memory | null; workers: number };
  shutdown: { ms: number; exitCode: number | null };
  many: (FloodRound & {
    conversations: number;
    /** The host with one conversation, just before the first flood. */
    hostBefore: Memory | null;
    /** The same chats again, once the first flood is over (null when not run). */
    second: FloodRound | null;
    hostPeakRssKb: number | null;
    maxWorkers: number;
    maxWorkersRssKb: number;
  }) | null;
  /**
   * The first-message flood against a host of the same build whose workers are null workers (fewer chats: the rate,
   * not the count, is compared), so the report shows how many first messages a second a process per conversation
   * allows on this machine; null when skipped or failed.
   */
  nullFlood: (FloodRound & { conversations: number }) | null;
  /** Why the many-conversations run failed (the latency results above still stand). */
  manyError: string | null;
  /** fsync/fdatasync calls per turn (null when skipped or strace is unavailable). */
  syncs: SyncCount | null;
}

/** The null worker: an executable script (its shebang finds node on the PATH the host gives workers). */
const NULL_WORKER = fileURLToPath(new URL("./null-worker.mjs", import.meta.url));

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

export async function runHostBench(opts: HostBenchOptions): Promise<HostBenchResult> {
  const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body, opts.slowModelDelayMs) });
  try {
    const syncs = opts.syncTurns > 0 ? await countSyncs(model, opts.outDir, opts.syncTurns, opts.log) : null;
    const latency = await latencyPhase(model, opts);
    let many: { result: ManyResult | null; config: Partial<HostConfigOptions> } = { result: null, config: {} };
    let manyError: string | null = null;
    let nullFlood: HostBenchResult["nullFlood"] = null;
    if (opts.manyConversations > 0) {
      try {
        many = await manyPhase(model, opts);
      } catch (err) {
        manyError = (err as Error).message;
        opts.log(`many-conversations run failed: ${manyError}`);
      }
      if (opts.nullWorkers) {
        nullFlood = await nullFloodPhase(model, opts).catch((err: unknown) => {
          opts.log(`null-worker flood failed: ${(err as Error).message}`);
          return null;
        });
      }
    }
    return { ...latency.result, many: many.result, nullFlood, manyError, syncs, config: { latency: latency.config, many: many.config } };
  } finally {
    await model.close();
  }
}

async function latencyPhase(model: FakeOpenAI, opts: HostBenchOptions) {
  // Disjoint users per level, so each level's warm-up round creates its conversations.
  let next = 1001;
  const levels = opts.levels.map((l) => {
    const ids = range(next, l.conversations);
    next += Math.max(10, l.conversations);
    return { ...l, ids };
  });
  const recoveryUser = 9001;
  const config: HostConfigOptions = {
    modelUrl: model.url,
    apiRoot: "",
    adminUserIds: [1001],
    allowedChatIds: [...levels.flatMap((l) => l.ids), recoveryUser],
    // The cap never binds at these levels, so the numbers show overhead, not the throttle.
    maxConcurrentTurns: Math.max(...levels.map((l) => l.conversations)),
    idleShutdownSeconds: 120,
    pollIntervalMs: 0,
  };
  const tgHost = await startFakeTelegram();
  const tgFloor = await startFakeTelegram();
  const dir = join(opts.outDir, "host-latency");
  rmSync(dir, { recursive: true, force: true });
  const host = startHost(dir, hostConfig({ ...config, apiRoot: tgHost.apiRoot }), tgHost.token, profileArgs());
  const floor = startFloorBot(tgFloor.apiRoot, tgFloor.token, model.url);
  // The same host whose workers only speak the protocol and call the model once a turn: what is left of the
  // gap to the floor bot with a worker that costs nothing is the host's and the process-per-conversation's.
  const nulls = opts.nullWorkers ? await startNullWorkersHost(config, join(opts.outDir, "host-null-workers")) : null;
  const hostWatch = new ReplyWatcher(tgHost);
  const floorWatch = new ReplyWatcher(tgFloor);
  try {
    const e2e: HostBenchResult["e2e"] = [];
    for (const level of levels) {
      opts.log(`e2e: ${level.conversations} conversation(s) × ${level.rounds} rounds — floor bot, then host${nulls ? ", then host with null workers" : ""}`);
      const run = (fake: FakeTelegram, watcher: ReplyWatcher, label: string, proc: RunningProcess) =>
        guard(proc, closedLoop(fake, watcher, { label: `${label}${level.conversations}`, userIds: level.ids, rounds: level.rounds, timeoutMs: 90_000 }));
      const floorResult = await run(tgFloor, floorWatch, "f", floor);
      const hostResult = await run(tgHost, hostWatch, "h", host);
      const nullResult = nulls ? await run(nulls.tg, nulls.watch, "n", nulls.host) : null;
      e2e.push({ conversations: level.conversations, host: hostResult, floor: floorResult, nullHost: nullResult });
    }
    await nulls?.stop();
    const recovery = opts.recoveryTrials > 0 ? await guard(host, recoveryPhase(model, tgHost, hostWatch, host, dir, recoveryUser, opts)) : null;
    const hostAfterLatency = { memory: memoryOf(host.pid), workers: workerPids(host.pid).length };
    opts.log("host: SIGTERM (graceful shutdown)");
    const t0 = Date.now();
    const exitCode = await host.stop(30_000);
    const shutdown = { ms: Date.now() - t0, exitCode };
    return {
      result: { e2e, recovery, hostAfterLatency, shutdown },
      config: { maxConcurrentTurns: config.maxConcurrentTurns, idleShutdownSeconds: config.idleShutdownSeconds, pollIntervalMs: config.pollIntervalMs },
    };
  } finally {
    hostWatch.stop();
    floorWatch.stop();
    await host.stop(5_000);
    await floor.stop(2_000);
    await nulls?.stop();
    await tgHost.close();
    await tgFloor.close();
  }
}

/** A host of the same build and config whose workers are null workers, with its own fake Bot API; `stop` may be called twice. */
async function startNullWorkersHost(config: HostConfigOptions, dir: string) {
  const tg = await startFakeTelegram();
  rmSync(dir, { recursive: true, force: true });
  const host = startHost(dir, { ...hostConfig({ ...config, apiRoot: tg.apiRoot }), agent_server: { path: NULL_WORKER } }, tg.token);
  const watch = new ReplyWatcher(tg);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      watch.stop();
      await host.stop(10_000);
      await tg.close();
    })());
  return { tg, host, watch, stop };
}

/** Rejects as soon as the process exits, with its last output. */
function guard<T>(proc: RunningProcess, work: Promise<T>): Promise<T> {
  return Promise.race([work, proc.exited.then((code) => Promise.reject(new Error(`process exited (${code}) mid-run:\n${proc.tail()}`)))]);
}

async function recoveryPhase(
  model: FakeOpenAI,
  tg: FakeTelegram,
  watcher: ReplyWatcher,
  host: RunningProcess,
  dir: string,
  userId: number,
  opts: HostBenchOptions,
): Promise<NonNullable<HostBenchResult["recovery"]>> {
  opts.log(`recovery: ${opts.recoveryTrials} × kill -9 of a worker mid-turn (model delay ${opts.slowModelDelayMs} ms)`);
  const chat = privateChat(userId);
  tg.sendText(chat, "please answer bm-rec-warm");
  await watcher.reply("bm-rec-warm", 60_000);
  // The recovery user's conversation is the newest one: its workspace is the worker's cwd.
  const conversations = join(dir, "workdir", "conversations");
  const newest = readdirSync(conversations).sort().at(-1);
  if (!newest) throw new Error(`no conversation folder under ${conversations}`);
  const workspace = realpathSync(join(conversations, newest));
  const trials: { recoveryMs: number; killToModelRequestMs: number | null }[] = [];
  for (let i = 0; i < opts.recoveryTrials; i++) {
    const marker = `bm-slow-${i}`;
    const before = model.requests.length;
    const hasRequest = (from: number) => model.requests.slice(from).some((r) => JSON.stringify(r.body["messages"] ?? []).includes(marker));
    tg.sendText(chat, `please answer ${marker}`);
    await until(() => hasRequest(before), 30_000, `model request for ${marker}`, 5);
    await sleep(100); // mid-turn: the model call is in flight
    const worker = workerPids(host.pid).find((p) => cwdOf(p) === workspace);
    if (worker === undefined) throw new Error(`no worker with cwd ${workspace} (workers: ${workerPids(host.pid).map((p) => `${p}:${cwdOf(p)}`).join(", ")})`);
    const afterKill = model.requests.length;
    const killAt = preciseNow();
    process.kill(worker, "SIGKILL");
    const replyAt = await watcher.reply(marker, 60_000);
    const retry = model.requests.slice(afterKill).find((r) => JSON.stringify(r.body["messages"] ?? []).includes(marker));
    trials.push({ recoveryMs: replyAt - killAt - opts.slowModelDelayMs, killToModelRequestMs: retry ? retry.receivedAt - killAt : null });
  }
  return { trials, recoveryMs: summarize(trials.map((t) => t.recoveryMs)), modelDelayMs: opts.slowModelDelayMs };
}

type ManyResult = NonNullable<HostBenchResult["many"]>;

/** One flood: a message from each chat at once, then the admission and the replies, bounded by `deadline`. */
export interface FloodRound {
  /** Updates admitted (offset confirmed) when the memory was taken: all of them unless the deadline came first. */
  admitted: number;
  /** Seconds from the first message until every update was admitted. */
  admittedSeconds: number;
  /** The host once all updates were admitted (their turns may still be queued). */
  hostAtAdmitted: Memory | null;
  workersAtAdmitted: number;
  replied: number;
  /** Seconds until the last reply (or the deadline). */
  seconds: number;
  hostAtEnd: Memory | null;
  workersAtEnd: number;
}

/** `atAdmitted` runs right after the admission's memory is taken (a probe reads more of the host there). */
export async function flood(
  tg: FakeTelegram,
  watcher: ReplyWatcher,
  host: RunningProcess,
  ids: number[],
  tag: string,
  deadlineMs: number,
  log: (line: string) => void,
  atAdmitted?: () => Promise<void>,
): Promise<FloodRound> {
  const t0 = Date.now();
  const deadline = t0 + deadlineMs;
  const pendingBefore = tg.pendingUpdates();
  for (const id of ids) tg.sendText(privateChat(id), `please answer bm-${tag}-${id}`);
  let replied = 0;
  let lastReplyAt = t0;
  const replies = Promise.all(
    ids.map((id) =>
      watcher.reply(`bm-${tag}-${id}`, Math.max(1, deadline - Date.now())).then(
        (at) => {
          replied++;
          lastReplyAt = Math.max(lastReplyAt, at);
        },
        () => undefined, // past the deadline: counted as not replied
      ),
    ),
  );
  const admittedAll = await guard(
    host,
    until(() => tg.pendingUpdates() <= pendingBefore, deadlineMs, "all updates admitted", 50).then(
      () => true,
      () => false,
    ),
  );
  const admitted = ids.length - Math.max(0, tg.pendingUpdates() - pendingBefore);
  const admittedSeconds = (Date.now() - t0) / 1000;
  const hostAtAdmitted = memoryOf(host.pid);
  const workersAtAdmitted = workerPids(host.pid).length;
  await atAdmitted?.();
  log(`${tag}: ${admitted}/${ids.length} admitted after ${admittedSeconds.toFixed(1)} s (host VmRSS ${((hostAtAdmitted?.rssKb ?? 0) / 1024).toFixed(0)} MB)${admittedAll ? "; waiting for replies" : ""}`);
  await guard(host, replies);
  return {
    admitted,
    admittedSeconds,
    hostAtAdmitted,
    workersAtAdmitted,
    replied,
    seconds: ((replied === ids.length ? lastReplyAt : Date.now()) - t0) / 1000,
    hostAtEnd: memoryOf(host.pid),
    workersAtEnd: workerPids(host.pid).length,
  };
}

/**
 * A flood of first messages from `n` private chats, then a second flood from the same chats (their
 * conversations exist by then), so growth of the host's memory shows. Each flood is bounded by
 * `manyDeadlineMs`: the host's memory is taken once every update is admitted (or at the deadline,
 * with the count admitted), then replies are awaited until the deadline.
 */
/** The flood's host config: the first of `ids` is the admin, who sends one message before the flood. */
function floodConfig(model: FakeOpenAI, ids: number[]): HostConfigOptions {
  return { modelUrl: model.url, apiRoot: "", adminUserIds: [ids[0]!], allowedChatIds: ids, maxConcurrentTurns: 8, idleShutdownSeconds: 2, pollIntervalMs: 0 };
}

async function manyPhase(model: FakeOpenAI, opts: HostBenchOptions): Promise<{ result: ManyResult; config: Partial<HostConfigOptions> }> {
  const n = opts.manyConversations;
  opts.log(`host RSS: one message from each of ${n} chats, twice (each flood bounded at ${Math.round(opts.manyDeadlineMs / 1000)} s)`);
  const ids = range(20001, n);
  const config = floodConfig(model, ids);
  const shortConfig = { maxConcurrentTurns: config.maxConcurrentTurns, idleShutdownSeconds: config.idleShutdownSeconds, pollIntervalMs: config.pollIntervalMs };
  const tg = await startFakeTelegram();
  const dir = join(opts.outDir, "host-many");
  rmSync(dir, { recursive: true, force: true });
  const host = startHost(dir, hostConfig({ ...config, apiRoot: tg.apiRoot }), tg.token);
  const watcher = new ReplyWatcher(tg);
  let maxWorkers = 0;
  let maxWorkersRssKb = 0;
  const sampler = setInterval(() => {
    const pids = workerPids(host.pid);
    maxWorkers = Math.max(maxWorkers, pids.length);
    maxWorkersRssKb = Math.max(maxWorkersRssKb, pids.reduce((sum, p) => sum + (memoryOf(p)?.rssKb ?? 0), 0));
  }, 500);
  try {
    // The first chat alone, so the host is up (and its admin exists) before the flood.
    tg.sendText(privateChat(ids[0]!), "please answer bm-many-0");
    await guard(host, watcher.reply("bm-many-0", 60_000));
    const hostBefore = memoryOf(host.pid);
    const first = await flood(tg, watcher, host, ids.slice(1), "many", opts.manyDeadlineMs, opts.log);
    const second = opts.secondFlood ? await flood(tg, watcher, host, ids, "many2", opts.manyDeadlineMs, opts.log) : null;
    const hostAtEnd = memoryOf(host.pid);
    return {
      result: {
        conversations: n,
        hostBefore,
        // The first flood's figures count the chat that came before it.
        ...first,
        admitted: first.admitted + 1,
        replied: first.replied + 1,
        second,
        hostPeakRssKb: hostAtEnd?.hwmKb ?? null,
        maxWorkers,
        maxWorkersRssKb,
      },
      config: shortConfig,
    };
  } finally {
    clearInterval(sampler);
    watcher.stop();
    await host.stop(15_000);
    await tg.close();
  }
}

/** At most this many chats in the null workers' flood: enough for a steady rate, without doubling the flood's time. */
const NULL_FLOOD_CHATS = 300;

/** The first flood again, smaller, against a host of the same build and config whose workers are null workers. */
async function nullFloodPhase(model: FakeOpenAI, opts: HostBenchOptions): Promise<NonNullable<HostBenchResult["nullFlood"]>> {
  const n = Math.min(opts.manyConversations, NULL_FLOOD_CHATS);
  opts.log(`first-message flood with null workers: ${n} chats`);
  const ids = range(60001, n + 1);
  const nulls = await startNullWorkersHost(floodConfig(model, ids), join(opts.outDir, "host-many-null-workers"));
  try {
    nulls.tg.sendText(privateChat(ids[0]!), "please answer bm-nf-0");
    await guard(nulls.host, nulls.watch.reply("bm-nf-0", 60_000));
    return { conversations: n, ...(await flood(nulls.tg, nulls.watch, nulls.host, ids.slice(1), "nf", opts.manyDeadlineMs, opts.log)) };
  } finally {
    await nulls.stop();
  }
}

/** `BENCH_HOST_PROF=<dir>`: the latency host writes a V8 CPU profile there when it exits (open it in Chrome DevTools). */
function profileArgs(): string[] {
  const dir = process.env["BENCH_HOST_PROF"];
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}
