import { promises as fs } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStellaclawImport, UnsupportedStellaclawWorkdirError } from "../../src/index.js";
import { initialLayout } from "../../src/migrations/0001-initial-layout.js";
import { importStellaclaw } from "../../src/migrations/0002-import-stellaclaw.js";
import { makeTempDir, removeDir, snapshotTree, type TreeSpec, writeTree } from "../helpers.js";

const CONV1 = "telegram_main-000001";
const CONV2 = "telegram_main-000002";

const conversationJson = {
  version: 1,
  conversation_id: CONV1,
  channel_id: "telegram_main",
  platform_chat_id: "4242",
  session_profile: { main_model: "sonnet" },
  model_selection_pending: false,
  tool_remote_mode: { type: "fixed_ssh", host: "devbox", cwd: "/srv/project" },
  sandbox: { mode: "bubblewrap", bubblewrap_binary: "bwrap" },
  reasoning_effort: "high",
  session_binding: {
    foreground_session_id: `${CONV1}.foreground`,
    next_background_index: 2,
    next_subagent_index: 1,
    background_sessions: {},
    subagent_sessions: {},
  },
};

/** A Stellaclaw 0.5 workdir as reference §3.1 describes it, after it was moved from /old/workdir. */
const stellaclawTree: TreeSpec = {
  STELLA_VERSION: "0.5\n",
  ".log/stellaclaw/host.log": "host log line\n",
  ".log/stellaclaw/conversation_ids.json": JSON.stringify({
    next_index_by_channel: { telegram_main: 4 },
    mappings: {
      "telegram_main::4242": CONV1,
      "telegram_main::-1001": CONV2,
      "telegram_main::777": "telegram_main-000003",
    },
  }),
  ".log/stellaclaw/cron_tasks.json": JSON.stringify({
    next_index: 2,
    tasks: {
      cron_0001: {
        id: "cron_0001",
        conversation_id: CONV1,
        channel_id: "telegram_main",
        platform_chat_id: 4242,
        name: "daily",
        description: "morning summary",
        schedule: "0 0 9 * * *",
        timezone: "Europe/Berlin",
        task: "Summarise the news",
        enabled: true,
        next_run_at: "2025-01-02T08:00:00Z",
      },
      cron_0002: { id: "cron_0002", name: "broken" },
    },
  }),
  ".log/stellaclaw/channels/telegram_main/security.json": JSON.stringify({
    admin_user_ids: [4242],
    chats: {
      "4242": { state: "Approved", last_user: "ada" },
      "-1001": { state: "Pending", last_title: "Team", last_user: "bob" },
      "-1002": { state: "Rejected" },
    },
  }),
  "rundir/.stellaclaw/USER.md": "",
  "rundir/.stellaclaw/IDENTITY.md": "",
  "rundir/.skill/weather/SKILL.md": "---\nname: weather\ndescription: w\n---\n",
  "rundir/.skills/weather/SKILL.md": "---\nname: weather\ndescription: older copy\n---\n",
  "rundir/.skills/translate/SKILL.md": "---\nname: translate\ndescription: t\n---\n",
  "rundir/.skill_upstreams/weather.json": "{\"repo_url\":\"https://example.com/w.git\"}",
  "rundir/skill_memory/facts.md": "remember",
  "rundir/shared/notes.txt": "shared notes",
  [`conversations/${CONV1}/conversation.json`]: JSON.stringify(conversationJson),
  [`conversations/${CONV1}/.log/stellaclaw/conversation.log`]: "log\n",
  [`conversations/${CONV1}/.log/stellaclaw/${CONV1}.foreground/session.json`]: "{}",
  [`conversations/${CONV1}/.log/stellaclaw/${CONV1}.foreground/all_messages.jsonl`]: "{}\n",
  [`conversations/${CONV1}/.stellaclaw/USER.md`]: "",
  [`conversations/${CONV1}/.skill/weather/SKILL.md`]: "---\nname: weather\ndescription: w\n---\n",
  [`conversations/${CONV1}/attachments/incoming/photo.jpg`]: "jpeg-bytes",
  [`conversations/${CONV1}/shared`]: { link: "/old/workdir/rundir/shared" },
  [`conversations/${CONV1}/.skill_memory`]: { link: "workdir/rundir/skill_memory" },
  [`conversations/${CONV2}/conversation.json`]: "{ this is not json",
  [`conversations/${CONV2}/shared`]: { dir: true },
  [`conversations/${CONV2}/shared/local.txt`]: "a real folder the user made",
  "conversations/sshfs-telegram_main-000001/remote-file.txt": "on the remote host",
};

describe("migration 0002-import-stellaclaw", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  async function migrate(): Promise<string[]> {
    const lines: string[] = [];
    await initialLayout.up(dir);
    await importStellaclaw.up(dir, { log: (line) => lines.push(line) });
    return lines;
  }

  it("takes over a Stellaclaw 0.5 workdir in place", async () => {
    await writeTree(dir, stellaclawTree);
    const before = await snapshotTree(dir);
    const lines = await migrate();
    const tree = await snapshotTree(dir);

    // Stellaclaw's own files are untouched.
    for (const key of [
      "STELLA_VERSION",
      ".log/stellaclaw/host.log",
      `conversations/${CONV1}/conversation.json`,
      `conversations/${CONV1}/.log/stellaclaw/${CONV1}.foreground/session.json`,
      `conversations/${CONV1}/attachments/incoming/photo.jpg`,
      "rundir/shared/notes.txt",
    ]) {
      expect(tree[key], key).toBe(before[key]);
    }
    // Skills: the runtime store wins, missing ones are merged, the old folder keeps only the conflict.
    expect(tree["rundir/.skill/weather/SKILL.md"]).toContain("description: w");
    expect(tree["rundir/.skill/translate/SKILL.md"]).toContain("name: translate");
    expect(tree["rundir/.skills/translate"]).toBeUndefined();
    expect(tree["rundir/.skills/weather/SKILL.md"]).toContain("older copy");
    // Workspace layout and links into this workdir.
    expect(tree[`conversations/${CONV1}/shared`]).toBe(`link:${path.join(dir, "rundir/shared")}`);
    expect(tree[`conversations/${CONV1}/.skill_memory`]).toBe(`link:${path.join(dir, "rundir/skill_memory")}`);
    expect(await fs.readFile(path.join(dir, "conversations", CONV1, "shared", "notes.txt"), "utf8")).toBe(
      "shared notes",
    );
    expect(tree[`conversations/${CONV1}/.starling/sessions`]).toBe("dir");
    expect(tree[`conversations/${CONV2}/shared`]).toBe("dir");
    expect(tree[`conversations/${CONV2}/shared/local.txt`]).toContain("real folder");
    expect(tree[`conversations/${CONV2}/attachments/incoming`]).toBe("dir");
    // sshfs mount points are never entered.
    const sshfs = Object.keys(tree).filter((key) => key.startsWith("conversations/sshfs-"));
    expect(sshfs).toEqual(["conversations/sshfs-telegram_main-000001", "conversations/sshfs-telegram_main-000001/remote-file.txt"]);

    const imported = await readStellaclawImport(dir);
    expect(imported).toBeDefined();
    expect(imported?.stellaclawWorkdirVersion).toBe("0.5");
    expect(imported?.nextIndexByChannel).toEqual({ telegram_main: 4 });
    expect(imported?.conversations).toEqual([
      {
        conversationId: CONV1,
        channelId: "telegram_main",
        platformChatId: "4242",
        mainModel: "sonnet",
        modelSelectionPending: false,
        sandboxMode: "bubblewrap",
        remote: { host: "devbox", path: "/srv/project" },
        reasoningEffort: "high",
        foregroundSessionId: `${CONV1}.foreground`,
        legacySessionHistories: [`.log/stellaclaw/${CONV1}.foreground`],
      },
      { conversationId: CONV2, channelId: "telegram_main", platformChatId: "-1001", legacySessionHistories: [] },
      {
        conversationId: "telegram_main-000003",
        channelId: "telegram_main",
        platformChatId: "777",
        legacySessionHistories: [],
      },
    ]);
    expect(imported?.channels).toEqual([
      {
        channelId: "telegram_main",
        adminUserIds: [4242],
        chats: [
          { chatId: "-1001", state: "pending", lastTitle: "Team", lastUser: "bob" },
          { chatId: "-1002", state: "rejected" },
          { chatId: "4242", state: "approved", lastUser: "ada" },
        ],
      },
    ]);
    expect(imported?.cronTasks).toEqual([
      {
        id: "cron_0001",
        conversationId: CONV1,
        channelId: "telegram_main",
        platformChatId: "4242",
        name: "daily",
        description: "morning summary",
        schedule: "0 0 9 * * *",
        timezone: "Europe/Berlin",
        task: "Summarise the news",
        enabled: true,
        nextRunAt: "2025-01-02T08:00:00Z",
      },
    ]);
    expect(imported?.warnings.some((w) => w.includes("conversation.json") && w.includes("not valid JSON"))).toBe(true);
    expect(imported?.warnings.some((w) => w.includes("cron_0002"))).toBe(true);
    expect(lines.some((line) => line.includes("re-pointed"))).toBe(true);
  });

  it("changes nothing when run a second time", async () => {
    await writeTree(dir, stellaclawTree);
    await migrate();
    const first = await snapshotTree(dir, true);
    const lines: string[] = [];
    await importStellaclaw.up(dir, { log: (line) => lines.push(line) });
    expect(await snapshotTree(dir, true)).toEqual(first);
    expect(lines.some((line) => line.includes("wrote state/import"))).toBe(false);
  });

  it("moves rundir/skills into rundir/.skill in a non-Stellaclaw tree and writes no import", async () => {
    await writeTree(dir, {
      "rundir/skills/pdf/SKILL.md": "---\nname: pdf\n---\n",
      "rundir/skills/pdf/scripts/run.sh": "#!/bin/sh\n",
    });
    await migrate();
    const tree = await snapshotTree(dir);
    expect(tree["rundir/.skill/pdf/scripts/run.sh"]).toBe("file:#!/bin/sh\n");
    expect(tree["rundir/skills"]).toBeUndefined();
    expect(await readStellaclawImport(dir)).toBeUndefined();
    const again = await snapshotTree(dir, true);
    await importStellaclaw.up(dir);
    expect(await snapshotTree(dir, true)).toEqual(again);
  });

  it("refuses Stellaclaw workdirs older than 0.2 with a way forward", async () => {
    await writeTree(dir, { VERSION: "0.39\n", "sessions/x/session.json": "{}" });
    const error = await migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedStellaclawWorkdirError);
    expect((error as Error).message).toMatch(/version 0\.39.*Stellaclaw 0\.5/);
  });
});
