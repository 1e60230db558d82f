import { configDefaults, defineConfig } from "vitest/config";

/**
 * Test files that need a process of their own: they observe process-wide state another file may
 * already have changed (the schema warm-up must begin before any tool's zod schema is built).
 */
const NEEDS_OWN_PROCESS = ["packages/core/test/tools/schema-cache.test.ts"];

export default defineConfig({
  test: {
    // Generous: waits end as soon as their condition holds, so these only matter when a test fails, and a
    // loaded CI machine (two files at a time, each with a host and workers) must not fail a correct test.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: "forks",
    // Most files wait on child processes, HTTP and timers rather than CPU: two at a time on a 2-core
    // machine halved the suite's wall time (≈7 min instead of ≈14, both measured on 2 cores). With two, the
    // suite still left a quarter of the 2 cores idle (files waiting out timers); three at a time: 773 → 656 s,
    // the same CPU (1 163 / 1 169 s), all files passing (session 26, quiet machine, 2 cores).
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["packages/*/test/**/*.test.ts", "config/test/**/*.test.ts", "workdir-migrations/test/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...NEEDS_OWN_PROCESS],
          // A test process runs file after file instead of one process per file: a fresh process spent
          // ~0.7-1 s of CPU loading vitest and the same modules again, for each of ~300 files (session 29:
          // the packages' 171 files alone ~350 -> ~265 s of CPU). What files share is only the modules they
          // import; hosts and workers are still child processes of their own, and every file cleans up
          // what it started. A late error of one file would show in the next one's run (not lost).
          isolate: false,
        },
      },
      { extends: true, test: { name: "own-process", include: NEEDS_OWN_PROCESS } },
    ],
  },
});
