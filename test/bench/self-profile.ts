// A V8 CPU profile of this process over a window (node:inspector), e.g. a probe's measured rounds: the
// fakes and the driver run here, so it shows where their CPU goes. Samples are wall-clock ticks of the
// main thread: on a loaded machine time the thread waits to run inflates them, and JIT and GC work on
// V8's helper threads is missing (`perf record -g -p <pid>` with node --perf-basic-prof sees both).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { Profiler } from "node:inspector";

export interface SelfProfile {
  /** Stops profiling, writes the `.cpuprofile` JSON to `file` (Chrome DevTools, speedscope) and returns a summary. */
  stop(file: string): Promise<string>;
}

export async function startSelfProfile(intervalUs = 200): Promise<SelfProfile> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return summarize(profile);
    },
  };
}

/** Where a sample's time goes: the nearest frame of ours on its stack decides (a fake, the driver), else Node. */
function area(url: string): string | undefined {
  if (url.includes("/test/fakes/telegram")) return "fake Bot API";
  if (url.includes("/test/fakes/")) return "fake model";
  if (url.includes("/test/bench/")) return "driver";
  if (url.includes("/tsx/")) return "tsx";
  return undefined;
}

/** Busy milliseconds by area and the functions with the most self time. */
export function summarize(profile: Profiler.Profile, top = 12): string {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples?.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of self) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    let name: string | undefined;
    for (let at: number | undefined = id; at !== undefined && name === undefined; at = parent.get(at)) name = area(nodes.get(at)!.callFrame.url);
    const label = name ?? (frame.functionName === "(garbage collector)" ? "gc" : "node");
    areas.set(label, (areas.get(label) ?? 0) + ms);
    const fn = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").at(-1) ?? ""}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const list = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${v.toFixed(0)}`);
  return `busy ms by area: ${list(areas, 10).join(", ")}\nself ms by function: ${list(functions, top).join(", ")}`;
}
