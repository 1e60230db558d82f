import { readFileSync } from "node:fs";

/**
 * Test-only: `STARLING_TEST_CRON_CLOCK_FILE` names a file holding one ISO-8601 instant
 * (`2026-12-02T01:50:00.000Z`), which is "now" for cron and only for cron: creating, updating and enabling
 * tasks, and the runner's tick, which still runs every 250 ms of real time. The time stands still until a
 * test writes a later one (test/e2e/cron-clock.ts), so an end-to-end test steps past a slot instead of
 * waiting for it. Not a setting: unset, cron reads `Date.now()` and no file (docs/ARCHITECTURE.md §9 "Cron").
 */
export const CRON_CLOCK_ENV = "STARLING_TEST_CRON_CLOCK_FILE";

/** "Now" for cron: the test clock's time when `STARLING_TEST_CRON_CLOCK_FILE` is set; a bad file throws, naming it. */
export function cronNow(env: NodeJS.ProcessEnv = process.env): Date {
  const file = env[CRON_CLOCK_ENV];
  if (file === undefined || file === "") return new Date();
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new Error(`${CRON_CLOCK_ENV}: cannot read the cron test clock ${file} (${err instanceof Error ? err.message : String(err)}); write an instant such as 2026-12-02T01:50:00.000Z to it, or unset ${CRON_CLOCK_ENV}`);
  }
  // Exactly what `toISOString` writes (UTC, milliseconds), so no zone or format is guessed and no day rolls over.
  const at = new Date(text);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== text) {
    throw new Error(`${CRON_CLOCK_ENV}: the cron test clock ${file} holds ${JSON.stringify(text.slice(0, 80))}, not an instant such as 2026-12-02T01:50:00.000Z (UTC, with milliseconds)`);
  }
  return at;
}
