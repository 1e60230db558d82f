// The audit trail through the real CLI (docs/SECURITY.md "Audit log"): a turn with tools leaves one
// record per turn and call, no secret value ever reaches it, and `starling audit` prints it.
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { runCliOnce } from "./host-harness.js";
import { afterTool, lastUserText, MODEL_KEY, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(301, "Auditor");
let e2e: E2E;
let botToken: string;

function respond(req: RecordedRequest): ScriptedReply {
  if (!lastUserText(req).includes("[audit]")) return { text: "ok" };
  if (afterTool(req)) return { text: "All three done." };
  // The model (steered by some web page, say) puts secrets into a command and makes a tool print them.
  return {
    toolCalls: [
      { name: "shell", arguments: { command: `echo "model key ${MODEL_KEY}"; echo "bot ${botToken}"` } },
      { name: "file_write", arguments: { file_path: "notes.txt", content: "milk\n" } },
      { name: "shell", arguments: { command: "echo failing; exit 3" } },
    ],
  };
}

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id] } });
  botToken = e2e.env.FAKE_TELEGRAM_TOKEN!;
});

afterAll(async () => {
  await e2e?.close();
});

interface Line {
  type: string;
  tool?: string;
  target?: string;
  arguments?: string;
  result?: string;
  isError?: boolean;
  exitCode?: number | null;
  outcome?: string;
  conversationId: string;
  sessionId: string;
}

describe("audit log", { timeout: 60_000 }, () => {
  it("records the turn and each tool call, redacted, and `starling audit` prints it readably and as JSON lines", async () => {
    expect(await e2e.ask(chat, "do the chores [audit]", { timeoutMs: 40_000 })).toBe("All three done.");
    const auditDir = join(e2e.workdir, "audit");
    await e2e.until(() => readdirSync(auditDir).length === 1 && readFileSync(join(auditDir, readdirSync(auditDir)[0]!), "utf8").includes('"turn_ended"'), "the turn's audit records");
    const file = join(auditDir, readdirSync(auditDir)[0]!);
    const raw = readFileSync(file, "utf8");
    expect(raw).not.toContain(MODEL_KEY);
    expect(raw).not.toContain(botToken);
    expect(raw).toContain("[redacted:FAKE_MODEL_KEY]");
    expect(raw).toContain("[redacted:FAKE_TELEGRAM_TOKEN]");

    const records = raw.trim().split("\n").map((l) => JSON.parse(l) as Line);
    expect(records.map((r) => `${r.type}${r.tool ? `:${r.tool}` : ""}`)).toEqual([
      "turn_started",
      "tool_started:shell",
      "tool_finished:shell",
      "tool_started:file_write",
      "tool_finished:file_write",
      "tool_started:shell",
      "tool_finished:shell",
      "turn_ended",
    ]);
    const finished = records.filter((r) => r.type === "tool_finished");
    expect(finished.map((r) => r.target)).toEqual(["subprocess", "worker", "subprocess"]);
    expect(finished[0]!.result).toContain("model key [redacted:FAKE_MODEL_KEY]");
    expect(finished[0]!.result).toContain("bot [redacted:FAKE_TELEGRAM_TOKEN]");
    expect(finished[0]).toMatchObject({ isError: false, exitCode: 0 });
    expect(finished[1]!.arguments).toContain('"file_path":"notes.txt"');
    expect(finished[2]).toMatchObject({ exitCode: 3 });
    expect(records.at(-1)).toMatchObject({ type: "turn_ended", outcome: "completed" });
    const conversationId = records[0]!.conversationId;

    const readable = await runCliOnce(["audit", "--workdir", e2e.workdir]);
    expect(readable.code).toBe(0);
    const lines = readable.output.trim().split("\n");
    expect(lines).toHaveLength(5); // turn started, three calls, turn completed
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z  ${conversationId}  foreground  turn 1  turn started  \\(1 message\\)$`));
    expect(lines[1]).toMatch(/ {2}shell {2}@subprocess {2}ok \(exit 0\) {2}\d+(ms|\.\ds) {2}\{"command":"echo \\"model key \[redacted:FAKE_MODEL_KEY\]\\"; /);
    expect(lines[2]).toMatch(/ {2}file_write {2}@worker {2}ok {2}\d+(ms|\.\ds) {2}\{"file_path":"notes\.txt"/);
    expect(lines[3]).toMatch(/ {2}shell {2}@subprocess {2}\S+ \(exit 3\) /);
    expect(lines[4]).toMatch(/turn 1 {2}turn completed$/);
    expect(readable.output).not.toContain(MODEL_KEY);

    const json = await runCliOnce(["audit", "--workdir", e2e.workdir, "--conversation", conversationId, "--json", "--since", "1h"]);
    expect(json.code).toBe(0);
    expect(json.output.trim().split("\n").map((l) => (JSON.parse(l) as Line).type)).toEqual(records.map((r) => r.type));
  });

  it("a torn last line (a crash mid-write) is reported and ignored, never fatal", async () => {
    const auditDir = join(e2e.workdir, "audit");
    const file = join(auditDir, readdirSync(auditDir)[0]!);
    appendFileSync(file, '{"v":1,"time":"2026-01-01T00:00:00.000Z","type":"tool_sta');
    const result = await runCliOnce(["audit", "--workdir", e2e.workdir, "--json"]);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/\.jsonl:9: the last line is incomplete \(a write cut short by a crash\); ignored/);
    expect(result.output.split("\n").filter((l) => l.startsWith("{"))).toHaveLength(8);
  });
});
