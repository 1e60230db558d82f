import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * Each test file's wall time in a full run (scripts/test-durations.mjs writes it from a run's log). A fresh clone
 * has no vitest cache, so vitest would start the largest files first; a long file with a small source (the soak)
 * then started last and ran alone at the end. Longest first keeps the three workers busy to the end.
 */
const durations: Record<string, number> = JSON.parse(readFileSync(new URL("./test/file-durations.json", import.meta.url), "utf8"));

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Files not in the table (new ones) keep vitest's own order, ahead of the table's: a new file fails early.
    const base = await super.sort(files);
    const known = (spec: TestSpecification) => durations[relative(spec.project.config.root, spec.moduleId)];
    const unknown = base.filter((spec) => known(spec) === undefined);
    const listed = base.filter((spec) => known(spec) !== undefined).sort((a, b) => (known(b) ?? 0) - (known(a) ?? 0));
    return [...unknown, ...listed];
  }
}

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
    sequence: { sequencer: LongestFirst },
  },
});
