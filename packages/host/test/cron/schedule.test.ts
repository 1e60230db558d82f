import { describe, expect, it } from "vitest";
import { checkSchedule, nextRun, slotsBetween, type ScheduleFields } from "../../src/cron/schedule.js";

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
    expect(() => checkSchedule(every({ cron_minute: "0 5" }), "UTC", NOW)).toThrow(/^cron_minute: .*one cron field per argument/);
    expect(() => checkSchedule(every(), "Mars/Base", NOW)).toThrow(/^timezone: "Mars\/Base" is not an IANA time zone/);
    expect(() => checkSchedule(every({ cron_year: "2020" }), "UTC", NOW)).toThrow(/^cron_year: .*never fires/);
  });

  it("counts the slots of a downtime", () => {
    const from = new Date("2026-03-01T08:00:00Z");
    const gap = slotsBetween("*/10 * * * * *", "UTC", new Date(from.getTime() - 1), new Date(from.getTime() + 35_000));
    expect(gap).toEqual({ count: 4, newest: new Date("2026-03-01T08:00:30Z") });
  });
});
