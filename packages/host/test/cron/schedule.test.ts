import { describe, expect, it } from "vitest";
import { checkInterval, checkSchedule, nextRun, slotsBetween, type ScheduleFields } from "../../src/cron/schedule.js";

const every = (over: Partial<ScheduleFields> = {}): ScheduleFields => ({
  cron_second: "0",
  cron_minute: "0",
  cron_hour: "8",
  cron_day_of_month: "*",
  cron_month: "*",
  cron_day_of_week: "*",
  ...over,
});
const NOW = new Date("2026-03-01T00:00:00Z");

describe("cron schedules", () => {
  it("joins seconds-first fields (and the year) and computes the next run in the task's zone", () => {
    expect(checkSchedule(every(), "Europe/Berlin", NOW)).toBe("0 0 8 * * *");
    expect(nextRun("0 0 8 * * *", "Europe/Berlin", NOW)?.toISOString()).toBe("2026-03-01T07:00:00.000Z");
    expect(checkSchedule(every({ cron_year: "2030" }), "UTC", NOW)).toBe("0 0 8 * * * 2030");
    expect(nextRun("0 0 8 * * * 2030", "UTC", NOW)?.toISOString()).toBe("2030-01-01T08:00:00.000Z");
  });

  it("an invalid field or zone is refused with the field's name", () => {
    expect(() => checkSchedule(every({ cron_second: "99" }), "UTC", NOW)).toThrow(/^cron_second: "99" is not a valid cron field/);
    expect(() => checkSchedule(every({ cron_hour: "25" }), "UTC", NOW)).toThrow(/^cron_hour:/);
    expect(() => checkSchedule(every({ cron_day_of_week: "FUNDAY" }), "UTC", NOW)).toThrow(/^cron_day_of_week:/);
    expect(() => checkSchedule(every({ cron_minute: "0 5" }), "UTC", NOW)).toThrow(/^cron_minute: "0 5" is not one cron field\. Give the schedule as six separate fields/);
    expect(() => checkSchedule(every(), "Mars/Base", NOW)).toThrow(/^timezone: "Mars\/Base" is not an IANA time zone/);
    expect(() => checkSchedule(every({ cron_year: "2020" }), "UTC", NOW)).toThrow(/^cron_year: .*never fires/);
  });

  it("counts the slots of a downtime", () => {
    const from = new Date("2026-03-01T08:00:00Z");
    const gap = slotsBetween("*/10 * * * * *", "UTC", new Date(from.getTime() - 1), new Date(from.getTime() + 35_000));
    expect(gap).toEqual({ count: 4, newest: new Date("2026-03-01T08:00:30Z") });
  });

  it("a whole schedule or an @every/@daily shorthand in one field says what form is expected", () => {
    expect(() => checkSchedule(every({ cron_minute: "@every 5m" }), "UTC", NOW)).toThrow(
      /^cron_minute: "@every 5m" is not one cron field\. Give the schedule as six separate fields, seconds first \(cron_second, .*shorthands such as @every or @daily are not accepted\. Every 5 minutes, for example: cron_second "0", cron_minute "\*\/5"/,
    );
    expect(() => checkSchedule(every({ cron_second: "@daily" }), "UTC", NOW)).toThrow(/^cron_second: "@daily" is not one cron field/);
  });

  it("a schedule firing more often than once a minute is refused, judged by the smallest gap of its next firings", () => {
    expect(() => checkInterval("* * * * * *", "UTC", NOW)).toThrow(/^schedule: "\* \* \* \* \* \*" fires 1 s apart .*at most once every 60 s/);
    expect(() => checkInterval("*/30 * * * * *", "UTC", NOW)).toThrow(/fires 30 s apart/);
    // Two close times once a day: only the gap between them is short.
    expect(() => checkInterval("0,30 0 8 * * *", "UTC", NOW)).toThrow(/^schedule: "0,30 0 8 \* \* \*" fires 30 s apart \(2026-03-01T08:00:00\.000Z and 2026-03-01T08:00:30\.000Z\)/);
    expect(() => checkInterval("0 0,1 8 * * *", "UTC", NOW)).not.toThrow(); // exactly 60 s
    expect(() => checkInterval("0 * * * * *", "UTC", NOW)).not.toThrow();
    expect(() => checkInterval("0 0 8 * * *", "UTC", NOW)).not.toThrow();
    expect(() => checkInterval("0 0 8 * * * 2030", "UTC", NOW)).not.toThrow(); // fires once: no gap
  });
});
