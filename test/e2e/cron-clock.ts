// The cron test clock of end-to-end hosts (STARLING_TEST_CRON_CLOCK_FILE, host/src/cron/cron-clock.ts): a file
// holding the instant that is "now" for the host's cron. It stands still until the test moves it, so a test
// steps past a slot instead of sleeping until it; it only moves forward, so the records the host wrote under
// it (next_run_at, last_run_at) stay in order, across host restarts too (the file outlives the host).
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { E2E } from "./fixture.js";

/** The host's log line for a slot skipped behind a run still going (cron-runner.ts). */
export const CRON_SKIPPED = "cron firing skipped: the task's previous run has not finished";

/** The first whole minute after `at`: the next slot of a task due every minute at second 0. */
export const nextMinute = (at: Date): Date => new Date((Math.floor(at.getTime() / 60_000) + 1) * 60_000);

export class CronClock {
  private at: Date;
  private readonly file: string;
  private writes = 0;

  /** A clock file in `dir`, set to the current whole second. */
  constructor(private readonly dir: string) {
    this.file = join(dir, "cron-clock");
    this.at = new Date(Math.floor(Date.now() / 1000) * 1000);
    this.write();
  }

  /** The env that points a host's cron at this clock: give it to every host start on the workdir. */
  get env(): { STARLING_TEST_CRON_CLOCK_FILE: string } {
    return { STARLING_TEST_CRON_CLOCK_FILE: this.file };
  }

  now(): Date {
    return new Date(this.at);
  }

  /** Moves the clock to `at`; never backwards. */
  set(at: Date): void {
    if (at.getTime() < this.at.getTime()) throw new Error(`the cron clock only moves forward: ${at.toISOString()} is before ${this.at.toISOString()}`);
    this.at = new Date(at);
    this.write();
  }

  step(ms: number): void {
    this.set(new Date(this.at.getTime() + ms));
  }

  /** Written whole and renamed into place, so a tick never reads half a time. */
  private write(): void {
    const temp = join(this.dir, `cron-clock.${process.pid}.${++this.writes}.tmp`);
    writeFileSync(temp, this.at.toISOString());
    renameSync(temp, this.file);
  }
}

/** The log record of the `cron_slot` commit that decided slot `due` of task `id`: fired (`cron_task_due`) or skipped behind a run. */
export function cronDecision(e2e: E2E, id: string, due: Date): Promise<Record<string, unknown>> {
  const decided = (r: Record<string, unknown>) => (r.msg === "cron_task_due" || r.msg === CRON_SKIPPED) && r.task === id && r.due === due.toISOString();
  return e2e.until(() => e2e.logRecords().find(decided), `the decision on slot ${due.toISOString()} of ${id}`, 30_000);
}

/**
 * Steps `clock` to the next slot of task `id` (due every minute at second 0) until one fires; returns that slot.
 * A slot is skipped while the previous run is not done, which includes a moment after its answer
 * (ARCHITECTURE §9 "Overlap"): real time would bring the next slot, here the test brings it.
 */
export async function stepUntilFired(e2e: E2E, clock: CronClock, id: string, maxSlots = 20): Promise<Date> {
  for (let n = 1; n <= maxSlots; n++) {
    const slot = nextMinute(clock.now());
    clock.set(slot);
    if ((await cronDecision(e2e, id, slot)).msg === "cron_task_due") return slot;
  }
  throw new Error(`${id}: ${maxSlots} slots in a row were skipped behind a run that never ended (up to ${clock.now().toISOString()})\n${e2e.logTail(30)}`);
}
