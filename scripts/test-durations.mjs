// Writes test/file-durations.json from a `vitest run` log (the default reporter's "✓ <file> (N tests) <ms>ms" lines,
// as CI prints them): each test file's wall time, for the longest-first order of vitest.config.ts.
// Usage: node scripts/test-durations.mjs <log file>
import { readFileSync, writeFileSync } from "node:fs";

const [logFile] = process.argv.slice(2);
if (!logFile) {
  console.error("usage: node scripts/test-durations.mjs <vitest log file>");
  process.exit(2);
}
// eslint-disable-next-line no-control-regex
const text = readFileSync(logFile, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
const durations = {};
for (const line of text.split("\n")) {
  const match = /^ [✓❯×] (\S+\.test\.ts) \(\d+ tests?(?:[^)]*)\) (\d+)ms$/.exec(line);
  if (match) durations[match[1]] = Math.round(Number(match[2]) / 100) * 100;
}
const files = Object.keys(durations);
if (files.length === 0) {
  console.error(`${logFile}: no "✓ <file> (N tests) <ms>ms" lines; give the log of a full \`vitest run\``);
  process.exit(1);
}
const sorted = Object.fromEntries(files.sort((a, b) => durations[b] - durations[a] || a.localeCompare(b)).map((f) => [f, durations[f]]));
writeFileSync(new URL("../test/file-durations.json", import.meta.url), `${JSON.stringify(sorted, null, 1)}\n`);
console.log(`test/file-durations.json: ${files.length} files`);
