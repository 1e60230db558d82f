// Applying state/import/stellaclaw.json to a real host database: the host's own state wins over the
// import, unusable settings become warnings, the import happens once, and a damaged file is refused
// with the field named. (The round trip through the CLI is test/e2e/stellaclaw-import.test.ts.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ModelConfig } from "@starling/protocol";
import { stellaclawImportPath, type StellaclawImport } from "@starling/workdir-migrations";
import type { HostSettings } from "../../src/conversations/settings.js";
import { cronTasks } from "../../src/cron/cron-store.js";
import { applyStellaclawImport, STELLACLAW_IMPORT_KEY } from "../../src/import/stellaclaw-import.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";

const model = { model_name: "m" } as ModelConfig;
let dir: string;
let store: HostStore;
let settings: HostSettings;
const log = pino({ level: "silent" });

function writeImport(data: unknown): void {
  const file = stellaclawImportPath(dir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(data));
}

const cron = (id: string, schedule: string) => ({
  id,
  conversationId: "tg-000001",
  channelId: "tg",
  platformChatId: "1",
  name: `task ${id}`,
  description: "",
  schedule,
  timezone: "UTC",
  task: "do it",
  model: "gone",
  enabled: true,
});

const data: StellaclawImport = {
  format: 1,
  stellaclawWorkdirVersion: "0.5",
  nextIndexByChannel: { tg: 3 },
  conversations: [
    { conversationId: "tg-000001", channelId: "tg", platformChatId: "1", sandboxMode: "docker", remote: { host: "box", path: "/srv" }, reasoningEffort: "turbo", legacySessionHistories: [] },
    { conversationId: "tg-000002", channelId: "tg", platformChatId: "2", mainModel: "a", reasoningEffort: "High", legacySessionHistories: [] },
  ],
  channels: [{ channelId: "tg", adminUserIds: [1, 7], chats: [{ chatId: "2", state: "rejected" }, { chatId: "-1005", state: "approved", lastTitle: "Team" }] }],
  cronTasks: [cron("cron_0001", "0 0 9 * * *"), cron("cron_0002", "0 0 25 * * *"), cron("cron_0003", "0 9 * * *")],
  warnings: [],
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-import-"));
  store = await HostStore.open(join(dir, "state", "host"));
  settings = { workdir: dir, chatModels: { a: model, b: model }, helperModels: {}, compression: null, sandbox: { mode: "subprocess", bubblewrapBinary: "bwrap" }, workerCommand: ["node"] };
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("applyStellaclawImport", () => {
  it("keeps the host's own state, warns about what it cannot use, and runs once", async () => {
    // The host already knows chat 2 (rejected → approved by its admin) and has a cron_0001 of its own.
    await store.commit("conversation", (tx) => {
      tx.put(HostKeys.admins("tg"), ["7"]);
      tx.put(HostKeys.chat("tg", "2"), { channelId: "tg", chatId: "2", access: "approved", title: "Bob", type: "private", firstSeenAt: "x" });
      tx.put("cron:task:cron_0001", { id: "cron_0001", conversationId: "other" });
    });
    writeImport(data);
    const applied = await applyStellaclawImport(store, settings, ["tg"], log);
    expect(applied?.conversations).toEqual(["tg-000001", "tg-000002"]);
    expect(store.admins("tg")).toEqual(["7", "1"]);
    expect(store.chat("tg", "2")?.access).toBe("approved");
    expect(store.chat("tg", "-1005")).toMatchObject({ access: "approved", title: "Team", type: "supergroup" });

    const first = store.conversationOfChat("tg", "1")!;
    expect(first).toMatchObject({ id: "tg-000001", modelAlias: null, sandboxOverride: null, remote: { mode: "fixed", host: "box", path: "/srv" } });
    expect(store.conversationOfChat("tg", "2")).toMatchObject({ modelAlias: "a", reasoningEffort: "high" }); // its /reasoning setting
    expect(first.reasoningEffort).toBeUndefined();
    expect(store.get(HostKeys.counter("conv:tg"))).toBe(2);

    // cron_0001 collides with the host's task and gets the next free id; the other two are dropped.
    const imported = cronTasks(store).filter((t) => t.conversationId === "tg-000001");
    expect(imported.map((t) => [t.id, t.model, t.sessionId])).toEqual([["cron_0004", undefined, "tg-000001.background.0001"]]);
    expect(applied?.warnings.join("\n")).toMatch(/unknown sandbox mode "docker"/);
    expect(applied?.warnings.join("\n")).toMatch(/tg-000001: unknown reasoning effort "turbo" ignored/);
    expect(applied?.warnings.join("\n")).toMatch(/cron_0002 .*hour/);
    expect(applied?.warnings.join("\n")).toMatch(/cron_0003 .*5 fields, expected 6 or 7/);
    expect(applied?.warnings.join("\n")).toMatch(/model "gone" is not a chat model/);

    // A second start (or a changed file) imports nothing: the mark came with the first batch.
    writeImport({ ...data, channels: [{ channelId: "tg", adminUserIds: [99], chats: [] }] });
    expect(await applyStellaclawImport(store, settings, ["tg"], log)).toBeNull();
    expect(store.admins("tg")).toEqual(["7", "1"]);
    expect(store.get(STELLACLAW_IMPORT_KEY)).toMatchObject({ conversations: ["tg-000001", "tg-000002"] });
  });

  it("refuses a damaged import file, naming the field and what to do", async () => {
    writeImport({ ...data, conversations: [{ conversationId: "tg-000001", channelId: "tg" }] });
    await expect(applyStellaclawImport(store, settings, ["tg"], log)).rejects.toThrow(
      /stellaclaw\.json is damaged \(conversations\.0\.platformChatId: .*\)\. Fix it, or move it away/,
    );
    expect(store.get(STELLACLAW_IMPORT_KEY)).toBeUndefined();
  });

  it("does nothing in a workdir that never was Stellaclaw's", async () => {
    expect(await applyStellaclawImport(store, settings, ["tg"], log)).toBeNull();
    expect(store.conversations()).toEqual([]);
  });
});
