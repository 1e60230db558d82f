import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdleCollector } from "../src/idle-gc.js";

describe("IdleCollector", () => {
  let heap = 10_000_000;
  let collections = 0;
  const collector = () =>
    new IdleCollector({
      quietMs: 5000,
      growthBytes: 4_000_000,
      collect: () => {
        collections++;
        heap = 10_000_000; // what survives
      },
      heapUsed: () => heap,
    });

  beforeEach(() => {
    vi.useFakeTimers();
    heap = 10_000_000;
    collections = 0;
  });
  afterEach(() => vi.useRealTimers());

  it("collects once the process has been quiet, not while activity keeps coming", () => {
    const c = collector();
    for (let i = 0; i < 20; i++) {
      c.activity();
      heap += 1_000_000;
      vi.advanceTimersByTime(1000); // busy: something every second for 20 s
    }
    expect(collections).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(collections).toBe(1);
    c.stop();
  });

  it("after the first collection, collects again only when the heap grew by growthBytes", () => {
    const c = collector();
    c.activity();
    vi.advanceTimersByTime(5000);
    expect(collections).toBe(1); // the first pause always collects

    heap += 3_000_000; // less than the growth asked for
    c.activity();
    vi.advanceTimersByTime(5000);
    expect(collections).toBe(1);

    heap += 2_000_000; // 5 MB since the last collection
    c.activity();
    vi.advanceTimersByTime(4999);
    expect(collections).toBe(1);
    vi.advanceTimersByTime(1);
    expect(collections).toBe(2);
    c.stop();
  });

  it("stop() cancels a pending collection", () => {
    const c = collector();
    c.activity();
    c.stop();
    vi.advanceTimersByTime(10_000);
    expect(collections).toBe(0);
  });
});

// A real V8 this time: the host starts with --compact-on-every-full-gc (HOST_NODE_FLAGS), and the idle
// collection, which switches compaction on for its own gc() and off again, must leave that start flag on.
describe("IdleCollector in a process started with --compact-on-every-full-gc", () => {
  it("later full collections still compact after an idle collection", () => {
    const src = fileURLToPath(new URL("../src/idle-gc.ts", import.meta.url));
    const script = `
      import { IdleCollector } from ${JSON.stringify(src)};
      const idle = new IdleCollector({ quietMs: 10, growthBytes: 1 });
      idle.activity();
      await new Promise((r) => setTimeout(r, 100)); // the idle collection ran
      let all = []; for (let i = 0; i < 300000; i++) all.push({ i, s: "x" + i });
      globalThis.gc(); globalThis.gc(); // all of it in the old generation
      all = all.filter((_, i) => i % 2 === 0); // every old page now half free: below V8's own compaction threshold
      console.log("MARK");
      globalThis.gc();
      console.log("END " + all.length);`;
    const dir = mkdtempSync(join(tmpdir(), "idle-gc-"));
    try {
      const file = join(dir, "probe.mts");
      writeFileSync(file, script);
      const out = execFileSync(process.execPath, ["--compact-on-every-full-gc", "--single-threaded-gc", "--expose-gc", "--trace-evacuation", "--import", "tsx", file], { encoding: "utf8" });
      const after = out.slice(out.indexOf("MARK"));
      expect(after).toContain("END 150000");
      const oldPagesMoved = after.split("\n").filter((l) => l.includes("new_space=0")).length;
      expect(oldPagesMoved).toBeGreaterThan(20); // ~80 pages; 0-1 when the flag was switched off
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
