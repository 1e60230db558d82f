import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SessionSupervisor } from "../../src/sessions/supervisor.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import type { InboundItem } from "../../src/state/records.js";
import { refusingOptions, waitUntil } from "./harness.js";

// In-process: no worker is spawned; the launch records the session and refuses to start.
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function openStore(): Promise<HostStore> {
  const dir = mkdtempSync(join(tmpdir(), "starling-owner-"));
  const store = await HostStore.open(join(dir, "host"));
  cleanup.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

function admitIn(store: HostStore, sessionId: string, text: string) {
  return store.commit("admit", (tx) => {
    const item: InboundItem = {
      seq: tx.next("inbound"),
      conversationId: sessionId.replace(/\.foreground$/, ""),
      sessionId,
      messageId: `m-${text}`,
      message: { role: "user", content: [{ type: "text", text }] },
      admittedAt: new Date().toISOString(),
    };
    tx.put(HostKeys.inbound(item.seq), item);
  });
}

function refusingSupervisor(store: HostStore, launches: string[]): SessionSupervisor {
  const sup = new SessionSupervisor({ ...refusingOptions(store, launches), restart: { initialDelayMs: 60_000, maxAttempts: 1 } });
  cleanup.push(() => sup.stop(1000));
  return sup;
}

describe("commit notifications", () => {
  it("tells a subscriber of a prefix about each durable commit under it, and nothing else", async () => {
    const store = await openStore();
    const seen: { key: string; value: unknown }[][] = [];
    const unsubscribe = store.subscribe("inbound:", (changes) => seen.push(changes));
    await store.commit("admit", (tx) => {
      tx.put(HostKeys.inbound(1), { seq: 1 });
      tx.put("other:key", 1);
    });
    await store.commit(null, (tx) => tx.put("other:key", 2));
    await store.commit("handoff", (tx) => tx.del(HostKeys.inbound(1)));
    unsubscribe();
    await store.commit("admit", (tx) => tx.put(HostKeys.inbound(2), { seq: 2 }));
    expect(seen).toEqual([[{ key: HostKeys.inbound(1), value: { seq: 1 } }], [{ key: HostKeys.inbound(1), value: undefined }]]);
  });

  it("an inbound commit reaches the session's owner through the subscription, without a wake call", async () => {
    const store = await openStore();
    const launches: string[] = [];
    const sup = refusingSupervisor(store, launches);
    sup.start();
    // A channel id with a dot: the session is named by the stored item, never parsed.
    await admitIn(store, "web.main-000001.foreground", "hello");
    await waitUntil(() => launches.length === 1, "the session asked for a worker");
    expect(launches).toEqual(["web.main-000001.foreground"]);
    await waitUntil(() => sup.status("web.main-000001.foreground").lastError !== null, "the failed start recorded");
    expect(sup.status("web.main-000001.foreground").lastError).toContain("launch refused in this test");
  });

  it("items admitted before start() wait for it; after stop() a commit wakes nothing", async () => {
    const store = await openStore();
    const launches: string[] = [];
    const sup = refusingSupervisor(store, launches);
    await admitIn(store, "a.foreground", "early");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(launches).toEqual([]);
    sup.start();
    await waitUntil(() => launches.length === 1, "start() picked up the stored item");
    await sup.stop(1000);
    await admitIn(store, "b.foreground", "late");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(launches).toEqual(["a.foreground"]);
  });
});
