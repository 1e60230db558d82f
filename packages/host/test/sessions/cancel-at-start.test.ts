// A /cancel that reached a session whose worker was still starting names no turn yet (user-intent.ts "at_start"):
// it holds for whatever turn that start finds interrupted, and the start's reconciliation gives it that turn's id
// (or drops it), durably, in the real host store. The e2e side is test/e2e/continue-slow-start.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostStore } from "../../src/state/host-store.js";
import { cancelledAtStart, cancelledByUser, markCancelledAtStart, markCancelledByUser, settleCancelAtStart, storeWantedContinue } from "../../src/sessions/user-intent.js";

const S = "tg-1.foreground";
let dir: string;
let store: HostStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-cancel-at-start-"));
  store = await HostStore.open(join(dir, "db"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const reopen = async () => {
  await store.close();
  store = await HostStore.open(join(dir, "db"));
};

describe("the cancel mark stored while the worker starts", () => {
  it("covers any turn until the start names one, then only that turn, across a host restart", async () => {
    await store.commit("user_cancel", (tx) => markCancelledAtStart(tx, S));
    await reopen();
    expect(cancelledAtStart(store, S)).toBe(true);
    expect(cancelledByUser(store, S, 7)).toBe(true);
    expect(cancelledByUser(store, S, 8)).toBe(true);

    expect(await store.commit("user_cancel", (tx) => settleCancelAtStart(store, tx, S, 7))).toBe(true);
    await reopen();
    expect(cancelledAtStart(store, S)).toBe(false);
    expect(cancelledByUser(store, S, 7)).toBe(true);
    expect(cancelledByUser(store, S, 8), "a later turn is not the one the user cancelled").toBe(false);
  });

  it("is dropped when the start finds no unfinished turn, and leaves a turn's own mark alone", async () => {
    await store.commit("user_cancel", (tx) => markCancelledAtStart(tx, S));
    await store.commit("user_cancel", (tx) => settleCancelAtStart(store, tx, S, null));
    expect(cancelledAtStart(store, S)).toBe(false);
    expect(cancelledByUser(store, S, 1)).toBe(false);

    await store.commit("user_cancel", (tx) => markCancelledByUser(tx, S, 3));
    expect(await store.commit("user_cancel", (tx) => settleCancelAtStart(store, tx, S, 4))).toBe(false);
    expect(cancelledByUser(store, S, 3)).toBe(true);
    expect(cancelledByUser(store, S, 4)).toBe(false);
  });

  it("is superseded by a later /continue", async () => {
    await store.commit("user_cancel", (tx) => markCancelledAtStart(tx, S));
    await store.commit("user_continue", (tx) => storeWantedContinue(store, tx, S, null));
    expect(cancelledAtStart(store, S)).toBe(false);
    expect(cancelledByUser(store, S, 1)).toBe(false);
  });
});
