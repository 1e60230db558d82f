// The Stellaclaw import's seed (import/stellaclaw-seed.ts) on a real host database: the newest messages that fit
// 80 % of the conversation's model context (128 000 tokens when unknown, never fewer than one) are stored as the
// foreground session's seed in the import's batch; files in the workspace stay files, others become notes.
// (The round trip through the CLI and workers is test/e2e/stellaclaw-history.test.ts.)
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ModelConfig, SeedMessage } from "@starling/protocol";
import { stellaclawImportPath, type StellaclawImport } from "@starling/workdir-migrations";
import type { HostSettings } from "../../src/conversations/settings.js";
import { applyStellaclawImport } from "../../src/import/stellaclaw-import.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";

let dir: string;
let store: HostStore;
const log = pino({ level: "silent" });
const FOLDER = (id: string) => `.log/stellaclaw/${id}.foreground`;

function write(relative: string, content: string): void {
  mkdirSync(dirname(join(dir, relative)), { recursive: true });
  writeFileSync(join(dir, relative), content);
}

const conversation = (id: string, mainModel?: string): StellaclawImport["conversations"][number] => ({
  conversationId: id,
  channelId: "tg",
  platformChatId: id.slice(-1),
  ...(mainModel ? { mainModel } : {}),
  foregroundSessionId: `${id}.foreground`,
  legacySessionHistories: [FOLDER(id), ".log/stellaclaw/other.background.0001"],
});

function writeSession(id: string, messages: unknown[]): void {
  write(`conversations/${id}/${FOLDER(id)}/session.json`, JSON.stringify({ version: 1, current_messages: messages, all_messages: [] }));
}

const say = (role: string, text: string) => ({ role, data: [{ type: "context", payload: { text } }] });

async function runImport(conversations: StellaclawImport["conversations"], models: Record<string, Partial<ModelConfig>>) {
  const file = stellaclawImportPath(dir);
  mkdirSync(dirname(file), { recursive: true });
  const data: StellaclawImport = { format: 1, stellaclawWorkdirVersion: "0.5", nextIndexByChannel: {}, conversations, channels: [], cronTasks: [], warnings: [] };
  writeFileSync(file, JSON.stringify(data));
  const chatModels = Object.fromEntries(Object.entries(models).map(([alias, m]) => [alias, { model_name: alias, ...m } as ModelConfig]));
  const settings: HostSettings = { workdir: dir, chatModels, helperModels: {}, compression: null, sandbox: { mode: "subprocess", bubblewrapBinary: "bwrap" }, workerCommand: ["node"] };
  return (await applyStellaclawImport(store, settings, ["tg"], log))!;
}

const seedOf = (id: string) => store.readFromDisk<SeedMessage[]>(HostKeys.seedHistory(`${id}.foreground`));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-seed-"));
  store = await HostStore.open(join(dir, "state", "host"));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the Stellaclaw import's seed history", () => {
  it("stays on disk, not in the host's memory: the store's mirror holds only its key, also after a restart", async () => {
    writeSession("tg-000002", [say("user", "x".repeat(800_000))]);
    await runImport([conversation("tg-000002", "plain")], { plain: {} });
    const key = HostKeys.seedHistory("tg-000002.foreground");
    // What the host keeps in memory for its whole life: before 0.23.1 the 800 000-character history was part of it.
    const mirrored = () => [...store.cache.values()].reduce<number>((n, v) => n + (JSON.stringify(v)?.length ?? 0), 0);
    expect(store.has(key)).toBe(true);
    expect(mirrored()).toBeLessThan(50_000);
    expect((await seedOf("tg-000002"))?.[0]?.content[0]).toMatchObject({ type: "text", text: expect.stringMatching(/^x{1000}/) });
    await store.close();
    store = await HostStore.open(join(dir, "state", "host"));
    expect(store.has(key)).toBe(true);
    expect(mirrored()).toBeLessThan(50_000);
    expect(await seedOf("tg-000002")).toHaveLength(1);
  });

  it("keeps the newest messages that fit 80 % of the model's context, and at least one without a known context", async () => {
    // ~1 032 tokens each (4 000 characters / 4 + 32): 7 fit 8 000 tokens, 8 do not.
    writeSession("tg-000001", Array.from({ length: 10 }, (_, i) => say(i % 2 ? "assistant" : "user", `${i}`.padEnd(4000, "."))));
    // One message of ~200 000 tokens, over the default 128 000: still carried.
    writeSession("tg-000002", [say("user", "x".repeat(800_000))]);
    const applied = await runImport([conversation("tg-000001", "small"), conversation("tg-000002", "plain")], { small: { token_max_context: 10_000 }, plain: {} });

    const carried = (await seedOf("tg-000001"))!;
    expect(carried.map((m) => m.content.map((item) => (item.type === "text" ? item.text[0] : "")).join(""))).toEqual(["[3", "4", "5", "6", "7", "8", "9"]);
    // The cut left an assistant message first: it goes as the user's, labelled (some providers refuse an assistant first).
    expect(carried.map((m) => m.role)).toEqual(["user", "user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(carried[0]!.content[0]).toEqual({ type: "text", text: "[The assistant's earlier message, carried over from Stellaclaw:]" });
    expect(await seedOf("tg-000002")).toHaveLength(1);
    expect(applied.warnings).toContain(
      "tg-000001: carried 7 of 10 messages of Stellaclaw's history (conversations/tg-000001/.log/stellaclaw/tg-000001.foreground/session.json); the other session histories (.log/stellaclaw/other.background.0001) stay in the workspace",
    );
  });

  it("renders tool calls and results as text, drops reasoning and empty messages, keeps files found in the workspace", async () => {
    const workspace = join(dir, "conversations", "tg-000001");
    write("conversations/tg-000001/attachments/incoming/photo.png", "png");
    write("outside.txt", "not the agent's");
    mkdirSync(join(workspace, "notes"), { recursive: true });
    symlinkSync(join(dir, "outside.txt"), join(workspace, "notes", "escape.txt"));
    const file = (uri: string, name: string) => ({ type: "file", payload: { uri, name, media_type: "image/png" } });
    writeSession("tg-000001", [
      { role: "user", user_name: "ada", message_time: "2026-04-01T09:00:00Z", data: [{ type: "context", payload: { text: "look" } }, file("file:///old/place/conversations/tg-000001/attachments/incoming/photo.png", "photo.png")] },
      { role: "assistant", data: [{ type: "reasoning", payload: { text: "hmm" } }, { type: "tool_call", payload: { tool_call_id: "c1", tool_name: "shell", arguments: { text: '{"command":"ls"}' } } }] },
      { role: "user", data: [{ type: "tool_result", payload: { tool_call_id: "c1", tool_name: "shell", result: { context: { text: "a.txt" } } } }] },
      { role: "assistant", data: [{ type: "reasoning", payload: { text: "only this" } }] },
      { role: "user", data: [file(pathToFileURL(join(workspace, "notes", "escape.txt")).href, "escape.txt")] },
      // Optional fields written as null (serde's `None`).
      { role: "assistant", user_name: null, message_time: null, data: [{ type: "context", payload: { text: "fine" } }, { type: "file", payload: { uri: "file:///nowhere/gone.bin", name: null, media_type: null } }] },
    ]);
    const applied = await runImport([conversation("tg-000001")], { main: {} });

    const seed = (await seedOf("tg-000001"))!;
    expect(seed.map(({ time, ...m }) => m)).toEqual([
      { role: "user", userName: "ada", content: [{ type: "text", text: "look" }, { type: "file", uri: pathToFileURL(join(workspace, "attachments", "incoming", "photo.png")).href, name: "photo.png", mediaType: "image/png" }] },
      { role: "assistant", content: [{ type: "text", text: '[tool_call shell] {"command":"ls"}' }] },
      { role: "user", content: [{ type: "text", text: "[tool_result shell] a.txt" }] },
      { role: "user", content: [{ type: "text", text: `[file escape.txt (${pathToFileURL(join(workspace, "notes", "escape.txt")).href}): not found in the workspace]` }] },
      { role: "assistant", content: [{ type: "text", text: "fine" }, { type: "text", text: "[file gone.bin (file:///nowhere/gone.bin): not found in the workspace]" }] },
    ]);
    expect(seed[0]!.time).toBe("2026-04-01T09:00:00Z");
    expect(applied.warnings.join("\n")).toMatch(/carried 5 of 6 messages/);
  });
});
