import { Cron } from "croner";
import { CRON_LIMITS, CRON_SCHEDULE_FIELDS } from "@starling/protocol";

/** The six seconds-first fields and the optional year, as a task stores them. */
export type ScheduleFields = Record<(typeof CRON_SCHEDULE_FIELDS)[number], string> & { cron_year?: string };

/** The host's own IANA zone: the default `timezone` of a task. */
export function hostTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Thrown for a schedule or zone that cannot be used; `field` is the argument to fix. */
export class ScheduleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function joinSchedule(fields: ScheduleFields): string {
  const parts: string[] = CRON_SCHEDULE_FIELDS.map((f) => fields[f].trim());
  if (fields.cron_year !== undefined) parts.push(fields.cron_year.trim());
  return parts.join(" ");
}

function cron(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, paused: true });
}

function checkZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new ScheduleError("timezone", `"${timezone}" is not an IANA time zone (examples: Europe/Berlin, America/New_York, UTC).`);
  }
}

/** For a value that is a whole schedule or a shorthand (`@every 5m`, `@daily`, a whole cron line), not one field. */
function notOneField(value: string): string {
  return (
    `"${value}" is not one cron field. Give the schedule as six separate fields, seconds first ` +
    `(${CRON_SCHEDULE_FIELDS.join(", ")}), each a number, \`*\`, a list \`1,5\`, a range \`1-5\` or a step \`*/10\`; ` +
    `shorthands such as @every or @daily are not accepted. Every 5 minutes, for example: cron_second "0", cron_minute "*/5", the others "*".`
  );
}

/**
 * The minimum gap between two firings (CRON_LIMITS.minIntervalSeconds); `STARLING_TEST_CRON_MIN_INTERVAL_SECONDS`
 * lowers it in tests that need fast schedules.
 */
export function minIntervalSeconds(): number {
  const override = Number(process.env.STARLING_TEST_CRON_MIN_INTERVAL_SECONDS);
  return override > 0 ? override : CRON_LIMITS.minIntervalSeconds;
}

/**
 * Refuses a schedule that fires more often than once per `minIntervalSeconds()`: the smallest gap among
 * its next CRON_LIMITS.intervalCheckFirings firings after `now` counts, so every 30 seconds and two close
 * times (`0,30 0 8 * * *`) are caught as well as `* * * * * *`. Only for new schedules (create/update):
 * stored and imported tasks keep theirs.
 */
export function checkInterval(schedule: string, timezone: string, now: Date): void {
  const min = minIntervalSeconds();
  const job = cron(schedule, timezone);
  let previous = job.nextRun(now);
  let smallest: { gapMs: number; from: Date; to: Date } | null = null;
  for (let i = 0; previous && i < CRON_LIMITS.intervalCheckFirings; i++) {
    const next = job.nextRun(previous);
    if (!next) break;
    const gapMs = next.getTime() - previous.getTime();
    if (!smallest || gapMs < smallest.gapMs) smallest = { gapMs, from: previous, to: next };
    previous = next;
  }
  if (smallest && smallest.gapMs < min * 1000) {
    throw new ScheduleError(
      "schedule",
      `"${schedule}" fires ${smallest.gapMs / 1000} s apart (${smallest.from.toISOString()} and ${smallest.to.toISOString()}); ` +
        `a task may fire at most once every ${min} s. Use cron_second "0" (or one fixed second) and a cron_minute of \`*\` or a step such as \`*/5\`.`,
    );
  }
}

/**
 * Checks a task's fields one by one (so the error names the field to fix), then the whole
 * schedule, which must fire at least once after `now`.
 */
export function checkSchedule(fields: ScheduleFields, timezone: string, now: Date): string {
  checkZone(timezone);
  const names = [...CRON_SCHEDULE_FIELDS, ...(fields.cron_year !== undefined ? (["cron_year"] as const) : [])];
  names.forEach((name, i) => {
    const value = fields[name]!.trim();
    if (/\s/.test(value) || value.startsWith("@")) throw new ScheduleError(name, notOneField(value));
    const parts = names.map((_, j) => (j === i ? value : "*"));
    try {
      cron(parts.join(" "), timezone);
    } catch (err) {
      throw new ScheduleError(name, `"${value}" is not a valid cron field (${err instanceof Error ? err.message : String(err)}).`);
    }
  });
  const schedule = joinSchedule(fields);
  if (nextRun(schedule, timezone, now) === null) {
    throw new ScheduleError(fields.cron_year !== undefined ? "cron_year" : "cron_day_of_month", `the schedule "${schedule}" never fires after ${now.toISOString()}.`);
  }
  return schedule;
}

/** The first slot strictly after `after`, or null when the schedule has no more. */
export function nextRun(schedule: string, timezone: string, after: Date): Date | null {
  return cron(schedule, timezone).nextRun(after);
}

/**
 * The slots in (from, to]: how many, and the newest. Counting stops after `cap` (a schedule every
 * second over a long downtime), which only makes the count a lower bound.
 */
export function slotsBetween(schedule: string, timezone: string, from: Date, to: Date, cap = 100_000): { count: number; newest: Date | null } {
  const job = cron(schedule, timezone);
  let count = 0;
  let newest: Date | null = null;
  for (let at = job.nextRun(from); at && at <= to && count < cap; at = job.nextRun(at)) {
    count++;
    newest = at;
  }
  return { count, newest };
}
