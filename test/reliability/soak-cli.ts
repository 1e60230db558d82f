// `pnpm soak [--kills N] [--seed N] [--chats N] [--json FILE]`: the long form of the random-kill soak.
// Prints the figures docs/RELIABILITY.md quotes; exits 1 when an invariant was violated.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runSoak } from "./soak.js";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "1000" },
    seed: { type: "string" },
    chats: { type: "string", default: "4" },
    json: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number ≥ 0 (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive("seed", values.seed);
const kills = positive("kills", values.kills);
console.log(`soak: seed ${seed}, ${kills} kills (rerun with --seed ${seed})`);
const { figures, report } = await runSoak({
  seed,
  kills,
  chats: Math.max(1, positive("chats", values.chats)),
  settleMs: 180_000,
  log: values.quiet ? undefined : (line) => console.log(line),
});
const rows: [string, string | number][] = [
  ["seed", figures.seed],
  ["duration", `${figures.durationS} s`],
  ["kills survived (host / worker)", `${figures.kills.host + figures.kills.worker} (${figures.kills.host} / ${figures.kills.worker})`],
  ["messages sent / answered", `${figures.messages} / ${figures.answered}`],
  ["unanswered, archived by a later /new", figures.abandonedByNew],
  ["lost", figures.lost],
  ["unlabelled duplicates", figures.unlabelledDuplicates],
  ["labelled duplicates (re-sends after a kill)", figures.labelledDuplicates],
  ["replies out of order", figures.outOfOrder],
  ["tool calls in transcripts (each with one result)", figures.toolCalls],
  ["sessions checked", figures.sessions],
  ["/cancel, /continue, /new sent", `${figures.commands.cancel}, ${figures.commands.continue}, ${figures.commands.new}`],
  ["model errors injected (HTTP 500)", figures.faults.modelErrors],
  ["cron slots run / answered (each at most once)", `${figures.cron.slotsRun} / ${figures.cron.answered}`],
  ["host exit 0 on SIGTERM at the end", figures.hostCleanExit ? "yes" : "no"],
];
console.log(`\n| figure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n")}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
if (report) {
  console.error(`\n${report}`);
  process.exit(1);
}
