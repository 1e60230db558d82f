// After a reboot (a power failure may have dropped unsynced outbox writes) every item left in the
// outbox is marked a possible duplicate; after a plain process restart nothing is marked.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentBootId, noteBoot } from "../../src/state/boot.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import { queueOutbound } from "../../src/state/outbox.js";

let dir: string;
let store: HostStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-boot-"));
  store = await HostStore.open(join(dir, "db"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const queue = (text: string) =>
  store.commit("event_processed", (tx) => queueOutbound(tx, { channelId: "tg", chatId: "42", conversationId: "tg-1" }, { kind: "text", text }));
const marks = () => store.outbound().map((i) => [i.payload.kind === "text" ? i.payload.text : "", i.possibleDuplicate === true]);

describe("noteBoot", () => {
  it("marks the outbox only when the machine restarted since the last start", async () => {
    expect(currentBootId()).toMatch(/\S/);
    // A store without a boot id (new, or written by a version that fsync'd every attempt): nothing to mark.
    await queue("from an old version");
    expect(await noteBoot(store, "boot-a")).toBe(0);
    expect(marks()).toEqual([["from an old version", false]]);

    await queue("queued in boot a");
    expect(await noteBoot(store, "boot-a")).toBe(0); // a process restart on the same boot
    expect(marks()).toEqual([
      ["from an old version", false],
      ["queued in boot a", false],
    ]);

    expect(await noteBoot(store, "boot-b")).toBe(2);
    expect(marks()).toEqual([
      ["from an old version", true],
      ["queued in boot a", true],
    ]);
    expect(store.get(HostKeys.boot())).toBe("boot-b");

    // Reopened: the marks and the boot id are on disk.
    await store.close();
    store = await HostStore.open(join(dir, "db"));
    expect(marks()).toEqual([
      ["from an old version", true],
      ["queued in boot a", true],
    ]);
    expect(await noteBoot(store, "boot-b")).toBe(0);
  });
});
