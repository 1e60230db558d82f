import { describe, expect, it } from "vitest";
import { TurnSlots, type SlotLease } from "../../src/sessions/turn-slots.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("TurnSlots.lend", () => {
  it("a holder that waits lends its slot: one more session runs, and the cap holds again once it is taken back", async () => {
    const slots = new TurnSlots(1, (err) => {
      throw err;
    });
    const leases = new Map<string, SlotLease>();
    const ask = (id: string) => slots.request(id, (lease) => leases.set(id, lease));
    ask("parent");
    await tick();
    ask("child");
    ask("other");
    await tick();
    expect([...leases.keys()]).toEqual(["parent"]);
    const takeBack = slots.lend();
    await tick();
    expect([...leases.keys()]).toEqual(["parent", "child"]);
    takeBack();
    takeBack(); // idempotent
    leases.get("child")!.release();
    await tick();
    // Taken back: parent's slot is the only one again, so "other" still waits.
    expect(leases.has("other")).toBe(false);
    expect(slots.position("other")).toBe(1);
    leases.get("parent")!.release();
    await tick();
    expect(leases.has("other")).toBe(true);
  });
});
