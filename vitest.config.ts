import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "config/test/**/*.test.ts",
      "workdir-migrations/test/**/*.test.ts",
      "test/**/*.test.ts",
    ],
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
  },
});
