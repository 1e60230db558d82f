// Disk faults (issue #7): a LevelDB write fails with EIO at a named commit point (STARLING_FAIL_AT for
// the host, STARLING_WORKER_FAIL_AT for its workers). The host reports it, keeps serving, and
// nothing acknowledged is lost: the message is answered (once, or re-sent labelled).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat } from "../fakes/telegram-api.js";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { afterTool, lastUserText } from "../e2e/fixture.js";
import { checkHistory, formatViolations, markersIn } from "./history.js";
import { recordHistory } from "./record.js";

const HOST_POINTS = ["admit", "handoff", "event_processed", "outbox_attempt", "outbox_sent", "panel_created"] as const;
const WORKER_POINTS = ["enqueue", "turn_start", "model_answer", "tool_intent", "tool_result", "turn_end", "ack_events"] as const;
const POINTS = [...HOST_POINTS.map((p) => ({ point: p, env: "STARLING_FAIL_AT" })), ...WORKER_POINTS.map((p) => ({ point: p, env: "STARLING_WORKER_FAIL_AT" }))];
/** `pnpm test` runs these (CPU budget); STARLING_RELIABILITY_FULL=1 runs every point. */
const QUICK = new Set(["admit", "handoff", "event_processed", "outbox_sent"]);
const FULL = process.env.STARLING_RELIABILITY_FULL === "1";
/**
 * Known failures (issue #7 report, docs/RELIABILITY.md "Open findings"): a worker whose `enqueue` or
 * `turn_start` write fails never answers the message until it is restarted. With
 * STARLING_RELIABILITY_FULL=1 the points panel_created, model_answer, tool_intent, tool_result,
 * turn_end and ack_events also fail (last run): not yet analysed.
 */
const KNOWN_BROKEN = new Set(["enqueue", "turn_start"]);
const chatOf = (i: number) => privateChat(8301 + i, `Disk ${i}`);
const bystander = privateChat(8399, "Bystander");

let e2e: E2E;

/** "with a tool": one file_write, then the answer; otherwise the answer at once. Answers name the message's markers. */
function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.includes("with a tool") && !afterTool(req)) return { toolCalls: [{ name: "file_write", arguments: { file_path: "note.txt", content: ask } }] };
  return { text: `Answer to ${markersIn(ask).join(" ")}.` };
}

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [...POINTS.map((_, i) => chatOf(i).id), bystander.id] } });
});

afterEach(async () => {
  if (e2e.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop();
});

afterAll(async () => {
  await e2e?.close();
});

describe("a write failing at a commit point", () => {
  for (const [i, { point, env }] of POINTS.entries()) {
    const run = FULL || QUICK.has(point) ? (KNOWN_BROKEN.has(point) ? it.skip : it) : it.skip;
    if (run === it.skip) console.log(`skipped ${env}=${point}: ${KNOWN_BROKEN.has(point) ? "known failure, see docs/RELIABILITY.md" : "runs with STARLING_RELIABILITY_FULL=1 (CPU budget of pnpm test)"}`);
    run(`${env}=${point}: reported, the message still answered, other chats served`, async () => {
      const chat = chatOf(i);
      const startedAt = Date.now();
      const logBefore = e2e.logTail(1_000_000).length;
      e2e.start({ [env]: `${point}:1:1` });
      const marker = `m:d${i}-1`;
      // The bystander writes first, so a worker fault (it strikes every worker's first write there) hits its turn too.
      const bystanderMarker = `m:b${i}-1`;
      e2e.send(bystander, `still serving? [${bystanderMarker}]`);
      e2e.send(chat, `hello${point.startsWith("tool_") ? " with a tool" : ""} [${marker}]`);
      const fresh = (chatId: number) => e2e.replies(chatId).filter((r) => r.sentAt >= startedAt);
      for (const [who, m] of [[chat, marker], [bystander, bystanderMarker]] as const) {
        const answered = () => fresh(who.id).some((r) => markersIn(r.text ?? "").includes(m));
        await e2e.until(() => answered() || fresh(who.id).some((r) => (r.text ?? "").includes("Send /continue")), `an answer to ${m}`, 60_000);
        if (!answered()) {
          e2e.send(who, "/continue"); // offered after the failure: the user takes it up
          await e2e.until(answered, `an answer to ${m} after /continue`, 60_000);
        }
      }
      const log = e2e.logTail(1_000_000).slice(logBefore);
      expect(log, "the failed write is reported in the log").toMatch(/EIO: i\/o error writing the database/);
      expect(e2e.host!.child.exitCode, "the host kept running").toBeNull();
      const history = recordHistory(e2e.telegram, startedAt);
      history.inbound = history.inbound.filter((r) => r.chatId === chat.id || r.chatId === bystander.id);
      const report = formatViolations(checkHistory(history));
      expect(report, report).toBe("");
    }, 120_000);
  }
});
