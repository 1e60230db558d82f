import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { ConversationService } from "../../src/conversations/conversation-service.js";
import type { HostSettings } from "../../src/conversations/settings.js";
import { SessionSupervisor } from "../../src/sessions/supervisor.js";
import { HostStore } from "../../src/state/host-store.js";
import type { ConversationRecord } from "../../src/state/records.js";

const MODEL = { provider_type: "openai_chat_completions", model_name: "m", url: "http://127.0.0.1:9/v1/chat/completions", capabilities: ["chat"] };

export interface CoordinateEnv {
  dir: string;
  store: HostStore;
  service: ConversationService;
  /** Chat 7 of channel `tg`. */
  conversation: ConversationRecord;
  close(): Promise<void>;
}

/**
 * A real host store and conversation service for host actions driven through `handleCoordinate`. The
 * supervisor is stopped, so no worker starts: tests play what workers and hand-offs would write.
 */
export async function openCoordinateEnv(prefix: string): Promise<CoordinateEnv> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = await HostStore.open(join(dir, "state"));
  const log = pino({ level: "silent" });
  const supervisor = new SessionSupervisor({
    store,
    log,
    maxConcurrentTurns: 2,
    idleShutdownSeconds: 60,
    maxAutoContinues: 1,
    launch: () => Promise.reject(new Error("no workers in this test")),
    onDurableEvent: () => undefined,
    onActivity: () => undefined,
    coordinate: () => Promise.resolve({ ok: false, error: "unused" }),
  });
  await supervisor.stop();
  const settings = {
    workdir: join(dir, "workdir"),
    chatModels: { main: MODEL },
    helperModels: {},
    compression: null,
    sandbox: { mode: "subprocess", bubblewrapBinary: "bwrap" },
    workerCommand: ["node"],
    maxSubagents: 2,
  } as HostSettings;
  const service = new ConversationService(store, settings, () => supervisor, log);
  const conversation = await service.ensureConversation({ channelId: "tg", chatId: "7", type: "private", title: "Alice" });
  return {
    dir,
    store,
    service,
    conversation,
    async close() {
      // The workspace is made off the event loop after the conversation's commit: a quick test must not remove the
      // folder while it is still being filled (ENOTEMPTY in a loaded full run).
      await service.workspaceReady(conversation.id).catch(() => undefined);
      await store.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
