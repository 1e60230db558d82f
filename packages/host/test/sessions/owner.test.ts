import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentKey } from "../../src/agents/agent-store.js";
import { SessionIndex } from "../../src/conversations/session-index.js";
import { CronKeys } from "../../src/cron/cron-store.js";
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

describe("sessions are found by the stored records naming them, never by parsing their ids", () => {
  it("foreground (at start and after a commit), cron task and agent sessions and their types, with dots in the channel id", async () => {
    const store = await openStore();
    const conversation = (id: string, sessionId: string) => ({ id, channelId: "web.main", chatId: "1", foreground: { sessionId, generation: 0 } });
    await store.commit("conversation", (tx) => tx.put(HostKeys.conversation("web.main-000001"), conversation("web.main-000001", "web.main-000001.foreground")));
    const index = new SessionIndex(store);
    expect(index.conversationIdOf("web.main-000001.foreground")).toBe("web.main-000001");
    // A session id that does not follow the naming scheme is found all the same: only the record counts.
    await store.commit("conversation", (tx) => tx.put(HostKeys.conversation("web.main-000002"), conversation("web.main-000002", "imported.session")));
    expect(index.conversationIdOf("imported.session")).toBe("web.main-000002");
    await store.commit("coordinate", (tx) => tx.put(CronKeys.task("t1"), { id: "t1", conversationId: "web.main-000002", sessionId: "web.main-000002.background.0001" }));
    expect(index.conversationIdOf("web.main-000002.background.0001")).toBe("web.main-000002");
    // An agent record is read directly, so one staged in the commit being built is found too.
    const seen = await store.commit("coordinate", (tx) => {
      tx.put(agentKey("web.main-000001.subagent.0001"), { session_id: "web.main-000001.subagent.0001", kind: "subagent", conversationId: "web.main-000001" });
      return [index.conversationIdOf("web.main-000001.subagent.0001"), index.typeOf("web.main-000001.subagent.0001")];
    });
    expect(seen).toEqual(["web.main-000001", "subagent"]);
    expect(index.conversationIdOf("web.main-000009.foreground")).toBeUndefined();
    // The session type comes from the same records (what the worker is told in initialize).
    expect(["imported.session", "web.main-000002.background.0001"].map((id) => index.typeOf(id))).toEqual(["foreground", "background"]);
  });
});
