// The host store's mirror never runs ahead of the database: a failed write changes nothing a reader sees.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostStore } from "../../src/state/host-store.js";

let dir: string;
let store: HostStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-host-store-"));
  store = await HostStore.open(join(dir, "db"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("HostStore", () => {
  it("a commit whose batch fails leaves the mirror as the database is", async () => {
    await store.commit("admit", (tx) => tx.put("update:tg", 41));
    // A BigInt cannot be JSON-encoded: LevelDB refuses the whole batch.
    const failing = store.commit("admit", (tx) => {
      tx.put("update:tg", 42);
      tx.put("inbound:000000000001", { bad: 1n });
      tx.del("counter:x");
    });
    await expect(failing).rejects.toThrow();
    expect(store.get("update:tg")).toBe(41);
    expect(store.list("inbound:")).toEqual([]);
    await store.close();
    store = await HostStore.open(join(dir, "db"));
    expect(store.get("update:tg")).toBe(41);
  });

  it("writes are invisible to other readers until durable, and visible inside their own commit", async () => {
    let seenInside: unknown;
    const pending = store.commit("conversation", (tx) => {
      tx.put("conv:a", { id: "a" });
      tx.next("n");
      tx.next("n");
      seenInside = { conv: store.get("conv:a"), list: store.list("conv:"), counter: store.get("counter:n") };
    });
    expect(store.get("conv:a")).toBeUndefined();
    await pending;
    expect(seenInside).toEqual({ conv: { id: "a" }, list: [{ id: "a" }], counter: 2 });
    expect(store.get("conv:a")).toEqual({ id: "a" });
    await store.commit(null, (tx) => {
      tx.del("conv:a");
      expect(store.list("conv:")).toEqual([]);
    });
    expect(store.get("conv:a")).toBeUndefined();
  });
});
