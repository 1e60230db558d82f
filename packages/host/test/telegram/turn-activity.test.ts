import { afterEach, describe, expect, it, vi } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import type { TurnActivity, TurnPhase } from "../../src/channels/channel.js";
import { HostKeys } from "../../src/state/host-store.js";
import { CHANNEL_ID, createHarness, type Harness } from "./harness.js";

// Scope: typing indicator and progress panel driven through `Channel.turnActivity`, as the host
// core calls it, against the fake Bot API with a real HostStore.

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const alice = privateChat(42, "Alice");

async function setup() {
  fake = await startFakeTelegram();
  fake.registerChat(alice);
  h = await createHarness(fake, { adminUserIds: ["42"] });
}

function activity(turnKey: string, phase: TurnPhase, extra: Partial<TurnActivity> = {}): TurnActivity {
  return {
    chat: { channelId: CHANNEL_ID, chatId: "42", type: "private", title: "Alice" },
    conversationId: "tg-000001",
    turnKey,
    model: "fast",
    phase,
    startedAt: Date.now() - 2000,
    ...extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function queueReply(text: string, seq = 1): Promise<void> {
  await h.store.commit("event_processed", (tx) =>
    tx.put(HostKeys.outbound(seq), { seq, channelId: CHANNEL_ID, chatId: "42", conversationId: "", payload: { kind: "text", text }, createdAt: new Date().toISOString() }),
  );
}

describe("typing indicator", () => {
  it("repeats typing while the turn runs and stops when it ends", async () => {
    await setup();
    const channel = await h.startChannel();
    channel.turnActivity(activity("s#1", "calling_model"));
    await fake.waitFor(() => fake.chatActions(42).length >= 3);
    expect(fake.chatActions(42).every((a) => a.action === "typing")).toBe(true);
    channel.turnActivity(activity("s#1", "done"));
    await sleep(100);
    const count = fake.chatActions(42).length;
    await sleep(500);
    expect(fake.chatActions(42).length).toBe(count);
  });
});

describe("progress panel", () => {
  it("coalesces rapid activity to about one edit per second and always shows the final state", async () => {
    await setup();
    const channel = await h.startChannel();
    const started = Date.now();
    channel.turnActivity(activity("s#2", "calling_model"));
    for (let i = 0; i < 40; i++) {
      channel.turnActivity(activity("s#2", "running_tool", { toolName: `tool_${i}`, step: i + 1 }));
      await sleep(50);
    }
    channel.turnActivity(activity("s#2", "done"));
    const panel = await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes("Done")), 5000);
    const elapsedS = (Date.now() - started) / 1000;
    const edits = fake.edits(42);
    expect(fake.messages(42)).toHaveLength(1); // one panel, edited in place
    expect(edits.length).toBeGreaterThan(0);
    expect(edits.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 1);
    // Intermediate edits at most once per second; the final state goes out at once when the turn ends.
    for (let i = 1; i < edits.length - 1; i++) expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(900);
    expect(panel.text).toMatch(/Took: \d+s/);
    expect(edits.at(-1)!.text).toBe(panel.text);
    // Finished panels are no longer tracked in the store.
    await fake.waitFor(() => h.store.get(HostKeys.panel("s#2")) === undefined);
  });

  it("stores the panel's message id before the first edit and edits the same panel after a restart", async () => {
    await setup();
    // Record how many edits Telegram had seen when the panel id was committed.
    const original = h.store.commit.bind(h.store);
    const editsAtPanelCommit: number[] = [];
    const commitSpy = vi.spyOn(h.store, "commit").mockImplementation(((point, build) => {
      if (point === "panel_created") editsAtPanelCommit.push(fake.calls("editMessageText").length);
      return original(point, build);
    }) as typeof h.store.commit);
    const first = await h.startChannel();
    first.turnActivity(activity("s#3", "calling_model"));
    const panel = await fake.waitFor(() => fake.messages(42)[0]);
    await fake.waitFor(() => h.store.get<number>(HostKeys.panel("s#3")) === panel.messageId);
    first.turnActivity(activity("s#3", "running_tool", { toolName: "shell" }));
    await fake.waitFor(() => fake.edits(42).length === 1);
    expect(editsAtPanelCommit).toEqual([0]);
    await first.stop();

    commitSpy.mockRestore();
    const second = await h.startChannel();
    second.turnActivity(activity("s#3", "running_tool", { toolName: "grep" }));
    await fake.waitFor(() => fake.edits(42).some((e) => e.text?.includes("grep")));
    second.turnActivity(activity("s#3", "failed", { detail: "provider said no" }));
    await fake.waitFor(() => fake.messages(42)[0]!.text?.includes("provider said no"));
    expect(fake.messages(42)).toHaveLength(1);
    expect(fake.calls("sendMessage")).toHaveLength(1);
  });

  it("sends the panel before a reply queued after it", async () => {
    await setup();
    const channel = await h.startChannel();
    channel.turnActivity(activity("s#4", "calling_model"));
    await queueReply("the answer");
    channel.wakeOutbox();
    channel.turnActivity(activity("s#4", "done"));
    await fake.waitFor(() => fake.messages(42).length === 2 && fake.messages(42)[0]!.text?.includes("Done"));
    expect(fake.messages(42)[1]!.text).toBe("the answer");
  });

  it("sends a due panel whose timer has not fired yet before a reply handed over in the same tick, showing Done", async () => {
    await setup();
    const channel = await h.startChannel();
    await queueReply("the answer"); // stored, not yet handed to the sender
    // All in one tick: the panel is due at once (the turn is 2 s old), but its timer cannot have run.
    channel.turnActivity(activity("s#10", "calling_model"));
    channel.wakeOutbox();
    channel.turnActivity(activity("s#10", "done"));
    await fake.waitFor(() => fake.messages(42).length === 2 && fake.messages(42)[0]!.text?.includes("Done"));
    expect(fake.messages(42)[1]!.text).toBe("the answer");
    expect(fake.calls("sendMessage").map((c) => c.params.text === "the answer")).toEqual([false, true]);
  });

  it("sends the panel of a turn that ends after its delay even when its timer has not fired yet, showing Done", async () => {
    await setup();
    const channel = await h.startChannel();
    channel.turnActivity(activity("s#11", "calling_model"));
    channel.turnActivity(activity("s#11", "done")); // same tick: the panel's timer cannot have run
    const panel = await fake.waitFor(() => fake.messages(42)[0]);
    expect(panel.text).toContain("Done");
    expect(fake.messages(42)).toHaveLength(1);
    expect(fake.calls("editMessageText")).toHaveLength(0); // sent in its final state: nothing to edit
  });

  it("gives a turn that answers within the delay no panel: no message, no edit, no stored id", async () => {
    await setup();
    const points: string[] = [];
    const original = h.store.commit.bind(h.store);
    vi.spyOn(h.store, "commit").mockImplementation(((point, build) => {
      if (point) points.push(point);
      return original(point, build);
    }) as typeof h.store.commit);
    const channel = await h.startChannel(); // the default delay (1 s)
    channel.turnActivity(activity("s#6", "calling_model", { startedAt: Date.now() }));
    channel.turnActivity(activity("s#6", "done", { startedAt: Date.now() }));
    await queueReply("the quick answer");
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages(42).length === 1);
    await sleep(1500); // past the delay: the ended turn's panel timer is gone
    expect(fake.messages(42).map((m) => m.text)).toEqual(["the quick answer"]);
    expect(fake.calls("editMessageText")).toHaveLength(0);
    expect(points).not.toContain("panel_created");
    expect(fake.chatActions(42)).toHaveLength(0); // ended before the typing delay too: the reply is the only call
  });

  it("shows typing but no panel for a turn that runs past the typing delay and ends within the panel delay", async () => {
    await setup();
    const channel = await h.startChannel({ panelDelayMs: 60_000 });
    channel.turnActivity(activity("s#9", "calling_model", { startedAt: Date.now() }));
    await fake.waitFor(() => fake.chatActions(42).length > 0);
    channel.turnActivity(activity("s#9", "done", { startedAt: Date.now() }));
    await queueReply("the answer");
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages(42).length === 1);
    expect(fake.messages(42)[0]!.text).toBe("the answer");
    expect(fake.calls("editMessageText")).toHaveLength(0);
  });

  it("shows the panel once a turn has run for the delay, and its final state when it ends", async () => {
    await setup();
    const channel = await h.startChannel({ panelDelayMs: 300 });
    channel.turnActivity(activity("s#7", "calling_model", { startedAt: Date.now() }));
    const panel = await fake.waitFor(() => fake.messages(42)[0]);
    expect(panel.text).not.toContain("Took");
    await fake.waitFor(() => h.store.get<number>(HostKeys.panel("s#7")) === panel.messageId);
    channel.turnActivity(activity("s#7", "failed", { detail: "provider said no" }));
    await fake.waitFor(() => fake.messages(42)[0]!.text?.includes("provider said no"));
    expect(fake.messages(42)).toHaveLength(1);
  });

  it("sends no panel for a turn still within its delay when the channel stops", async () => {
    await setup();
    const channel = await h.startChannel({ panelDelayMs: 60_000 });
    channel.turnActivity(activity("s#8", "calling_model", { startedAt: Date.now() }));
    await fake.waitFor(() => fake.chatActions(42).length > 0);
    await channel.stop();
    expect(fake.calls("sendMessage")).toHaveLength(0);
  });

  it("creates no panel for a turn whose first activity is its end", async () => {
    await setup();
    const channel = await h.startChannel();
    channel.turnActivity(activity("s#5", "done"));
    await sleep(300);
    expect(fake.messages(42)).toHaveLength(0);
  });
});
