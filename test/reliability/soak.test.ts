// Short form of the random-kill soak for every `pnpm test`: ≥ 30 kills of the host or a worker.
// The seed is printed; STARLING_SOAK_SEED replays a schedule (`pnpm soak --seed N` runs it longer).
import { expect, it } from "vitest";
import { runSoak } from "./soak.js";

const seed = Number(process.env.STARLING_SOAK_SEED ?? 20260707);

it(`survives 30 random kill -9s of the host and its workers, with /new and a cron task (seed ${seed})`, async () => {
  const log = process.env.STARLING_SOAK_VERBOSE ? console.log : undefined;
  // A settle phase that times out (something left unanswered while nothing new came in) is a failure.
  const { figures, report } = await runSoak({ seed, kills: 30, killGapMs: [150, 1000], log });
  console.log(`soak figures: ${JSON.stringify(figures)}`);
  expect(report, report).toBe("");
  expect(figures.kills.host + figures.kills.worker).toBeGreaterThanOrEqual(30);
  expect(figures.kills.host, "the host itself was killed, not only workers").toBeGreaterThan(0);
  expect(figures.answered + figures.abandonedByNew).toBe(figures.messages);
  expect(figures.cron.slotsRun, "cron slots fired during the kills").toBeGreaterThan(0);
}, 600_000);
