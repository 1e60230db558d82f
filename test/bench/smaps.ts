// A process's anonymous memory by kind, from /proc/<pid>/smaps: V8's heap pages, malloc's brk heap,
// other large regions (malloc's thread arenas and big mmapped chunks, V8's large objects and code),
// and the rest (stacks, small mappings).
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Region {
  /** Start address (hex), to follow one region between two readings. */
  start: string;
  name: string;
  perms: string;
  /** Size and anonymous resident pages, kB. */
  size: number;
  anon: number;
}

export interface AnonBreakdown {
  /** V8 reserves its heap pages as 256 kB regions. */
  v8PagesKb: number;
  v8Pages: number;
  brkKb: number;
  /** Anonymous regions other than 256 kB ones holding over 200 kB. */
  big: Region[];
  restKb: number;
}

export function readSmaps(pid: number): Region[] {
  const rows: Region[] = [];
  let cur: Region | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      cur = { start: m[1]!, perms: m[2]!, name: m[3] || "[anon]", size: 0, anon: 0 };
      rows.push(cur);
      continue;
    }
    const a = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (a && cur) cur.anon = Number(a[1]);
    const s = /^Size:\s+(\d+) kB/.exec(line);
    if (s && cur) cur.size = Number(s[1]);
  }
  return rows;
}

export function anonBreakdown(rows: Region[]): AnonBreakdown {
  const sum = (rs: Region[]) => rs.reduce((s, r) => s + r.anon, 0);
  const pages = rows.filter((r) => r.name === "[anon]" && r.size === 256);
  const brk = rows.filter((r) => r.name === "[heap]");
  const big = rows.filter((r) => r.name === "[anon]" && r.size !== 256 && r.anon > 200).sort((a, b) => b.anon - a.anon);
  return { v8PagesKb: sum(pages), v8Pages: pages.filter((r) => r.anon > 0).length, brkKb: sum(brk), big, restKb: sum(rows) - sum(pages) - sum(brk) - sum(big) };
}

/**
 * A `-r` preload (its path) that makes a node process answer SIGUSR2 with one stderr line
 * `HEAPSTATS {"spaces":[[name, used, resident]…],"malloced":…,"external":…}` (bytes).
 */
export function heapStatsPreload(): string {
  const path = join(tmpdir(), "starling-smaps-heapstats.cjs");
  writeFileSync(
    path,
    `process.on("SIGUSR2", () => {
  const v8 = require("node:v8");
  const spaces = v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size, s.physical_space_size]);
  const h = v8.getHeapStatistics();
  process.stderr.write("HEAPSTATS " + JSON.stringify({ spaces, malloced: h.malloced_memory, external: h.external_memory }) + "\\n");
});
`,
  );
  return path;
}

/** One line from a HEAPSTATS payload: V8's spaces, used / resident kB. */
export function formatHeapStats(json: string): string {
  const parsed = JSON.parse(json) as { spaces: [string, number, number][]; malloced: number; external: number };
  const kb = (b: number) => (b / 1024).toFixed(0);
  const resident = parsed.spaces.reduce((s, [, , p]) => s + p, 0);
  return (
    `V8 spaces (used / resident kB): ${parsed.spaces.map(([n, u, p]) => `${n.replace(/_space$/, "")} ${kb(u)}/${kb(p)}`).join(", ")}; ` +
    `resident in all ${kb(resident)} kB; malloced ${kb(parsed.malloced)} kB, external ${kb(parsed.external)} kB`
  );
}
