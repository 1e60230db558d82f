import { defineConfig } from "vitest/config";

/**
 * Unit test files that need a process of their own: they observe process-wide state another file may
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
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "config/test/**/*.test.ts", "workdir-migrations/test/**/*.test.ts"],
          exclude: NEEDS_OWN_PROCESS,
          // The packages' own tests run in-process against source: a fresh process per file spent ~0.7 s of
          // CPU loading the same modules again (172 files: ~350 → ~265 s of CPU, session 29). They still
          // start real hosts and workers as child processes; what they share is only the modules they import.
          isolate: false,
        },
      },
      {
        extends: true,
        // End-to-end, conformance and reliability files start hosts and workers and set process-wide
        // hooks: a process each, as before.
        test: { name: "e2e", include: ["test/**/*.test.ts", ...NEEDS_OWN_PROCESS] },
      },
    ],
  },
});
