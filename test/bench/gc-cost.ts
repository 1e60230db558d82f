// A preload (`node -r`) for the host that measures what a full collection costs on its own heap, with and without
// compaction: every `everyS` seconds it runs V8's gc() five times (plain, plain, compacting, plain, compacting; the
// first clears the garbage so the others see the same live heap), prints one `GCCOST` line to stderr with the CPU and
// wall ms of each and old space used / committed after it, then leaves `--compact-on-every-full-gc` as it found it.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function gcCostPreload(everyS: number): string {
  const path = join(tmpdir(), `starling-gc-cost-${process.pid}.cjs`);
  writeFileSync(
    path,
    `const v8 = require("node:v8");
const vm = require("node:vm");
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const compacting = process.execArgv.includes("--compact-on-every-full-gc") && !process.execArgv.includes("--no-compact-on-every-full-gc");
const mb = (b) => (b / 1048576).toFixed(1);
setInterval(() => {
  const out = [];
  for (const compact of [false, false, true, false, true]) {
    v8.setFlagsFromString(compact ? "--compact-on-every-full-gc" : "--no-compact-on-every-full-gc");
    const cpu = process.cpuUsage();
    const wall = performance.now();
    gc();
    const used = process.cpuUsage(cpu);
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space");
    out.push((compact ? "compacting" : "plain") + " cpu " + ((used.user + used.system) / 1000).toFixed(1) + " wall " + (performance.now() - wall).toFixed(1) + " old " + mb(old.space_used_size) + "/" + mb(old.space_size) + " MB");
  }
  v8.setFlagsFromString(compacting ? "--compact-on-every-full-gc" : "--no-compact-on-every-full-gc");
  process.stderr.write("GCCOST " + out.join(" | ") + "\\n");
}, ${Math.round(everyS * 1000)}).unref();
`,
  );
  return path;
}
