import { isDeepStrictEqual } from "node:util";
import type pino from "pino";
import { spawnWorker, type WorkerClient } from "@starling/protocol";
import type { SessionLaunch } from "./types.js";

/** How a spare worker is started: the command and environment every session's launch uses. */
export type SpareLaunch = Omit<SessionLaunch, "init">;

/** A dead spare is replaced after this long; after this many short-lived spares in a row, no more are started. */
const REPLACE_DELAY_MS = 200;
/** Spares above `warm_spares` (started for waiting conversations) are stopped once none has been needed for this long. */
const SURPLUS_LINGER_MS = 10_000;
const MAX_QUICK_DEATHS = 5;
const QUICK_DEATH_MS = 5_000;
/**
 * A taken spare is replaced after this long, not at once: the replacement's start (a synchronous spawn in
 * the host, then ~150 ms of CPU in the new process) would otherwise compete with the taker's `initialize`
 * and first model request (a crash recovery's critical path) on a small machine. Spares wanted for
 * waiting conversations (`refill`) still start at once.
 */
const REPLACE_TAKEN_DELAY_MS = 300;

/** A worker process started ahead of need, waiting for `initialize` (its stderr kept until adopted). */
export class SpareWorker {
  readonly client: WorkerClient;
  readonly startedAt = Date.now();
  private readonly early: string[] = [];
  private sink: ((line: string) => void) | null = null;

  constructor(readonly launch: SpareLaunch) {
    this.client = spawnWorker({ command: launch.command, cwd: launch.cwd, env: launch.env, stderr: (line) => this.stderr(line) });
    // Until adopted nothing is written to it; a pipe error then only means it died (handled by `exited`).
    for (const stream of [this.client.child.stdin, this.client.child.stdout]) stream?.on("error", () => undefined);
  }

  get alive(): boolean {
    return this.client.exitStatus === null;
  }

  /** Hands the process to its session: stderr seen so far and from now on goes to `sink`. */
  adopt(sink: (line: string) => void): WorkerClient {
    this.sink = sink;
    for (const line of this.early.splice(0)) sink(line);
    return this.client;
  }

  private stderr(line: string): void {
    if (this.sink) this.sink(line);
    else if (this.early.length < 50) this.early.push(line);
  }
}

/**
 * Pre-started workers (`workers.warm_spares`): a session starting a worker takes a spare whose command
 * and environment match its launch (the worker changes into its workspace at `initialize`) and a new
 * spare starts in the background. A spare that dies is replaced; spares that keep dying right after
 * their start (a broken worker command) stop being replaced, so a broken setup does not spin.
 *
 * While conversations without a worker wait for a turn slot (a flood of new chats), more spares are
 * kept — one per such conversation, at most `demand`'s cap (`max_concurrent_turns`) — so their worker
 * starts overlap the running turns instead of following them inside the slot. The extra spares stop
 * once none has been needed for SURPLUS_LINGER_MS.
 */
export class WarmSpares {
  private readonly spares = new Set<SpareWorker>();
  private quickDeaths = 0;
  private stopped = false;
  private template: SpareLaunch | null = null;
  private surplusTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly count: number,
    private readonly launch: (() => Promise<SpareLaunch>) | undefined,
    private readonly log: pino.Logger,
    /** Spares wanted now beyond the floor `count` (conversations waiting without a worker), already capped. */
    private readonly demand: () => number = () => 0,
  ) {}

  /** Spares to keep right now: the configured floor, or more while conversations wait for a worker. */
  private target(): number {
    return this.count <= 0 ? 0 : Math.max(this.count, this.demand());
  }

  /** Re-reads the demand (the supervisor calls it when the slot queue changes): starts spares, or schedules stopping extras. */
  refill(): void {
    if (!this.template || this.stopped) return;
    this.fill();
    if (this.spares.size > this.target() && !this.surplusTimer) {
      this.surplusTimer = setTimeout(() => this.trim(), SURPLUS_LINGER_MS).unref();
    }
  }

  /** Starts the spares (once the host is ready to spawn workers). */
  start(): void {
    if (this.count <= 0 || !this.launch || this.stopped) return;
    void this.launch()
      .then((template) => {
        this.template = template;
        this.fill();
      })
      .catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "no warm spare worker: launch settings unavailable"));
  }

  /** A live spare started exactly as `launch` asks (same command and environment), or null. */
  take(launch: SessionLaunch): SpareWorker | null {
    for (const spare of this.spares) {
      if (!spare.alive) continue;
      if (!isDeepStrictEqual(spare.launch.command, launch.command) || !isDeepStrictEqual(spare.launch.env ?? {}, launch.env ?? {})) continue;
      this.spares.delete(spare);
      setTimeout(() => this.fill(), REPLACE_TAKEN_DELAY_MS).unref();
      return spare;
    }
    return null;
  }

  /** Pids of the waiting spares (status and tests). */
  pids(): number[] {
    return [...this.spares].flatMap((s) => (s.client.pid === undefined ? [] : [s.client.pid]));
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.surplusTimer) clearTimeout(this.surplusTimer);
    const spares = [...this.spares];
    this.spares.clear();
    await Promise.all(spares.map((s) => s.client.close(timeoutMs).catch(() => undefined)));
  }

  private fill(): void {
    const template = this.template;
    if (!template || this.stopped || this.quickDeaths >= MAX_QUICK_DEATHS) return;
    while (this.spares.size < this.target()) {
      const spare = new SpareWorker(template);
      this.spares.add(spare);
      void spare.client.exited.then((exit) => this.onExit(spare, exit.code, exit.signal));
    }
  }

  private trim(): void {
    this.surplusTimer = null;
    if (this.stopped) return;
    let surplus = this.spares.size - this.target();
    for (const spare of this.spares) {
      if (surplus-- <= 0) break;
      this.spares.delete(spare);
      void spare.client.close(5_000).catch(() => undefined);
    }
  }

  private onExit(spare: SpareWorker, code: number | null, signal: string | null): void {
    if (!this.spares.delete(spare) || this.stopped) return; // adopted (its session handles the exit) or stopping
    this.quickDeaths = Date.now() - spare.startedAt < QUICK_DEATH_MS ? this.quickDeaths + 1 : 0;
    const giveUp = this.quickDeaths >= MAX_QUICK_DEATHS;
    this.log[giveUp ? "error" : "warn"]({ pid: spare.client.pid, code, signal }, giveUp ? "warm spare workers keep dying at start; no more are started" : "warm spare worker exited; replacing it");
    setTimeout(() => this.fill(), REPLACE_DELAY_MS).unref();
  }
}
