// What a channel is told about a running turn (ActivityRelay, real store and service): the worker sends no
// `calling_model` progress for a turn's first model call, so `turn_started` itself must show step 1, as
// that progress event did (panel "· step 1", the web page's step), and later steps come from progress.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Channel, TurnActivity } from "../../src/channels/channel.js";
import { ConversationService } from "../../src/conversations/conversation-service.js";
import { ActivityRelay } from "../../src/conversations/event-replies.js";
import type { HostSettings } from "../../src/conversations/settings.js";
import type { SessionSupervisor } from "../../src/sessions/supervisor.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";

const MODEL = { provider_type: "openai_chat_completions", model_name: "m", url: "http://127.0.0.1:9/v1/chat/completions", capabilities: ["chat"] };

let dir: string;
let store: HostStore;
let service: ConversationService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-relay-"));
  store = await HostStore.open(join(dir, "state"));
  // Only conversations are needed here: no supervisor (no session ever starts).
  const settings = { workdir: join(dir, "workdir"), chatModels: { main: MODEL }, helperModels: {}, compression: null } as unknown as HostSettings;
  service = new ConversationService(store, settings, () => null as unknown as SessionSupervisor, pino({ level: "silent" }));
});
afterEach(async () => {
  // Conversations' workspaces are made off the event loop after their commit: wait for them before removing the folder.
  for (const id of store.list<{ id: string }>(HostKeys.conversation("")).map((c) => c.id)) await service.workspaceReady(id).catch(() => undefined);
  await store.close();
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

describe("ActivityRelay", () => {
  it("turn_started shows the first model call as step 1; a later step comes from its progress event", async () => {
    const conversation = await service.ensureConversation({ channelId: "tg", chatId: "7", type: "private", title: "Alice" });
    const seen: TurnActivity[] = [];
    const channel = { id: "tg", turnActivity: (a: TurnActivity) => seen.push(a) } as unknown as Channel;
    const relay = new ActivityRelay(service, new Map([["tg", channel]]));
    const session = conversation.foreground.sessionId;

    relay.relay(session, { type: "turn_started", turnId: 1, messageIds: ["m1"] });
    relay.relay(session, { type: "tool_started", turnId: 1, callId: "c1", toolName: "shell", summary: "ls", arguments: "{}" });
    relay.relay(session, { type: "progress", turnId: 1, phase: "calling_model", step: 2 });
    relay.relay(session, { type: "turn_completed", turnId: 1, message: { role: "assistant", content: [{ type: "text", text: "ok" }] } });

    expect(seen.map((a) => [a.phase, a.step, a.toolName])).toEqual([
      ["calling_model", 1, undefined],
      ["running_tool", undefined, "shell"],
      ["calling_model", 2, undefined],
      ["done", undefined, undefined],
    ]);
  });
});
