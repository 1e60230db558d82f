// Issue #12 item 6: a Stellaclaw 0.5 workdir (Rust layout) taken over through the real CLI. Migration
// 0002 writes state/import/stellaclaw.json; the host loads it once on its first start (commit point
// `import`, killed right after it here): the imported chat is answered in its old workspace, its admin
// is an admin, settings and cron tasks carry over, an unknown model alias leads to the model picker,
// and a new chat gets an id after the imported ones.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { groupChat, privateChat, user } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, sleep, startE2E, wireMessages, type E2E } from "./fixture.js";

const admin = privateChat(501, "Ada");
const adaUser = user(501, "Ada");
const team = groupChat(-100777, "Team");
const newcomer = privateChat(9001, "Newcomer");

const OLD = "tg-000002";
const LEGACY = "tg-000003";

/** Reads the file the user names with file_read, then answers with what it held. */
function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const file = /read (\S+)/.exec(ask)?.[1];
  if (file && !afterTool(req)) return { toolCalls: [{ name: "file_read", arguments: { file_path: file } }] };
  if (file) return { text: `The file says: ${contentText(wireMessages(req).at(-1)!)}` };
  return { text: `Hello from ${String(req.body.model)}.` };
}

/** A Stellaclaw 0.5 workdir (reference stellaclaw-host.md §"Workdir layout") whose channel id is the config's "tg". */
function writeStellaclawWorkdir(dir: string): void {
  const files: Record<string, string> = {
    STELLA_VERSION: "0.5\n",
    ".log/stellaclaw/conversation_ids.json": JSON.stringify({
      next_index_by_channel: { tg: 4 },
      mappings: { "tg::501": OLD, "tg::-100777": LEGACY },
    }),
    ".log/stellaclaw/channels/tg/security.json": JSON.stringify({
      admin_user_ids: [501],
      chats: { "501": { state: "Approved", last_user: "ada" }, "-100777": { state: "Approved", last_title: "Team" } },
    }),
    ".log/stellaclaw/cron_tasks.json": JSON.stringify({
      next_index: 2,
      tasks: {
        cron_0001: {
          id: "cron_0001",
          conversation_id: OLD,
          channel_id: "tg",
          platform_chat_id: 501,
          name: "newyear",
          description: "greet the year",
          schedule: "0 0 9 1 1 *",
          timezone: "Europe/Berlin",
          task: "Say happy new year",
          enabled: true,
          next_run_at: "2020-01-01T08:00:00Z",
        },
      },
    }),
    [`conversations/${OLD}/conversation.json`]: JSON.stringify({
      version: 1,
      conversation_id: OLD,
      channel_id: "tg",
      platform_chat_id: "501",
      session_profile: { main_model: "alt" },
      model_selection_pending: false,
      tool_remote_mode: { type: "selectable" },
      sandbox: { mode: "subprocess" },
      session_binding: { foreground_session_id: `${OLD}.foreground`, next_background_index: 1, next_subagent_index: 1 },
    }),
    [`conversations/${OLD}/.log/stellaclaw/${OLD}.foreground/session.json`]: "{}",
    [`conversations/${OLD}/notes/plan.md`]: "heron-42: the plan from Stellaclaw days\n",
    [`conversations/${LEGACY}/conversation.json`]: JSON.stringify({
      version: 1,
      conversation_id: LEGACY,
      channel_id: "tg",
      platform_chat_id: "-100777",
      session_profile: { main_model: "gpt-retired" },
    }),
  };
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, relative)), { recursive: true });
    writeFileSync(join(dir, relative), content);
  }
}

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    start: false,
    config: ({ modelUrl }) => ({
      extraModels: {
        alt: { provider_type: "open_router_completion", model_name: "alt-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] },
      },
    }),
  });
  writeStellaclawWorkdir(e2e.workdir);
});

afterAll(async () => {
  await e2e?.close();
});

describe("Stellaclaw import through the CLI", { timeout: 90_000 }, () => {
  it("survives a kill right after the import batch, then serves the imported chats", async () => {
    const killed = e2e.start({ STARLING_CRASH_AT: "import" });
    expect(await Promise.race([killed.exited, sleep(30_000).then(() => null)])).toEqual({ code: null, signal: "SIGKILL" });
    expect(existsSync(join(e2e.workdir, "state", "import", "stellaclaw.json"))).toBe(true);
    e2e.start();

    // The imported chat is answered at once (approved, model "alt" kept) in its old workspace.
    const answer = await e2e.ask(admin, "please read notes/plan.md", { timeoutMs: 30_000 });
    expect(answer).toContain("heron-42");
    expect(e2e.model.requests.at(-1)!.body.model).toBe("alt-model");
    const status = await e2e.ask(admin, "/status");
    expect(status).toMatch(new RegExp(`^Conversation: ${OLD}$`, "m"));
    expect(status).toMatch(new RegExp(`^Workspace: .*/conversations/${OLD}$`, "m"));
    expect(status).toMatch(/^Sandbox: subprocess \(override\)$/m);

    // Ada is an admin: admin commands answer her and list the imported approvals.
    const chats = await e2e.ask(admin, "/admin_chat_list");
    expect(chats).toMatch(/Admins: 501/);
    expect(chats).toMatch(/-100777: approved/);

    // The cron task came over with its schedule and a next run from now on.
    const cron = await e2e.ask(admin, "/cron");
    expect(cron).toMatch(/cron_0001 'newyear': 0 0 9 1 1 \* \(Europe\/Berlin\), next 20\d\d-01-01T08:00:00/);
    expect(cron).not.toContain("next 2020-");

    // The group's model alias no longer exists: its next message brings the model picker.
    const picker = await e2e.ask(team, "@starling_test_bot hello", { from: adaUser });
    expect(picker).toMatch(/Which model/);
  });

  it("gives a new chat an id after the imported ones, and does not import again on the next start", async () => {
    // Approved in advance (the approval notice to a chat that never wrote is refused by Telegram and dropped).
    expect(await e2e.ask(admin, `/admin_chat_approve ${newcomer.id}`)).toMatch(/^Approved chat 9001/);
    // Waited for by its text: the approval notice may reach the chat after the /status is sent (seen under load).
    e2e.send(newcomer, "/status");
    await e2e.waitText(newcomer.id, /^Conversation: tg-000004$/m);

    await e2e.stop();
    e2e.start();
    expect(await e2e.ask(admin, "/status")).toMatch(new RegExp(`^Conversation: ${OLD}$`, "m"));
    const fresh = privateChat(9002, "Second");
    await e2e.ask(admin, `/admin_chat_approve ${fresh.id}`);
    e2e.send(fresh, "/status");
    await e2e.waitText(fresh.id, /^Conversation: tg-000005$/m);
    const log = readFileSync(join(e2e.workdir, "logs", "host.log"), "utf8");
    // Three starts, one import: the one killed right after its batch.
    expect(log.match(/importing the Stellaclaw workdir's host state/g) ?? []).toHaveLength(1);
    expect(log.match(/imported the Stellaclaw workdir's host state/g) ?? []).toHaveLength(0);
    expect(log.match(/model \\"gpt-retired\\" is not a chat model/g) ?? []).toHaveLength(1);
  });
});
