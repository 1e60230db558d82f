// The test-only cron clock (STARLING_TEST_CRON_CLOCK_FILE): unset, cron's "now" is the real time and no file
// is read; set, it is the instant the file holds, and a file that holds anything else stops with an error
// naming the variable and the file, never falling back to the real time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CRON_CLOCK_ENV, cronNow } from "../../src/cron/cron-clock.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cron-clock-"));
  file = join(dir, "clock");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("cronNow", () => {
  it("is the real time when the variable is unset or empty", () => {
    for (const env of [{}, { [CRON_CLOCK_ENV]: "" }]) {
      const before = Date.now();
      const now = cronNow(env).getTime();
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(Date.now());
    }
  });

  it("is the instant the file holds, read at each call", () => {
    const env = { [CRON_CLOCK_ENV]: file };
    writeFileSync(file, "2030-01-02T03:04:05.678Z\n");
    expect(cronNow(env).toISOString()).toBe("2030-01-02T03:04:05.678Z");
    writeFileSync(file, "2030-01-02T03:05:00.000Z");
    expect(cronNow(env).toISOString()).toBe("2030-01-02T03:05:00.000Z");
  });

  it("throws, naming the variable and the file, for a missing file or one that holds no instant", () => {
    const env = { [CRON_CLOCK_ENV]: file };
    expect(() => cronNow(env)).toThrow(new RegExp(`^${CRON_CLOCK_ENV}: cannot read the cron test clock ${file} \\(ENOENT`));
    for (const bad of ["", "soon", "1764640000000", "2030-01-02 03:04:05", "2030-01-02T03:04:05Z", "2030-13-02T03:04:05.000Z", "2030-02-30T03:04:05.000Z", "+5000"]) {
      writeFileSync(file, bad);
      expect(() => cronNow(env), JSON.stringify(bad)).toThrow(new RegExp(`^${CRON_CLOCK_ENV}: the cron test clock ${file} holds .*not an instant such as`));
    }
  });
});
