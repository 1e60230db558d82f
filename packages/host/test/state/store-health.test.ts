// Slow host database writes are reported once per interval while the disk stalls, not once per write queued behind it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { StoreHealth } from "../../src/state/store-health.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("StoreHealth slow writes", () => {
  it("a write queued behind a reported one is not reported the moment the first settles, only if it stays slow", () => {
    vi.useFakeTimers(); // the watch runs every 50 ms of a 200 ms slow-write time; fake time keeps it exact on a loaded machine
    const lines: { level: string; fields: Record<string, unknown> }[] = [];
    const health = new StoreHealth(null, (level, _line, fields) => lines.push({ level, fields }), 60_000, 200);
    const seen = () => lines.map((l) => `${l.level} ${String(l.fields["point"])}`);
    const first = health.writeStarted("giveup");
    const second = health.writeStarted("admit"); // waits on the same disk
    vi.advanceTimersByTime(250);
    expect(seen()).toEqual(["warn giveup"]);
    health.writeEnded(first);
    vi.advanceTimersByTime(100); // the watch sees the admit write, as old as the first, before an interval has passed
    expect(seen()).toEqual(["warn giveup", "info giveup"]);
    vi.advanceTimersByTime(100); // still under way an interval after the last line: the stall's next line names it
    expect(seen()).toEqual(["warn giveup", "info giveup", "warn admit"]);
    health.writeEnded(second);
    expect(seen().at(-1)).toBe("info admit");
  });
});
