import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "config/test/**/*.test.ts",
      "workdir-migrations/test/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Most files wait on child processes, HTTP and timers rather than CPU: two at a time on a 2-core
    // machine halves the suite's wall time (≈7 min instead of ≈14, both measured on 2 cores).
    maxWorkers: 2,
  },
});
