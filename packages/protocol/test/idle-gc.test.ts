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
