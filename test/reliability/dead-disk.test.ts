// A disk that stays dead (issue #7 part 5): every `outbox_sent` write fails. The host does not give
// up and does not go quiet: it keeps retrying, logs a summary at error level at each report interval
// (one minute; STARLING_STORE_REPORT_MS shortens it here), `/status` and `starling doctor` say the
// database is failing, other chats are still answered, and once writes succeed again (a restart
// without the fault) nothing was lost and nothing was sent twice unlabelled.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { runCliOnce } from "../e2e/host-harness.js";
import { privateChat } from "../fakes/telegram-api.js";
import { answerLastMarkers } from "./marker-model.js";
import { checkHistory, formatViolations } from "./history.js";
import { recordHistory } from "./record.js";

const first = privateChat(8601, "Dead disk");
const other = privateChat(8602, "Other chat");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: answerLastMarkers,
    start: false,
    config: { adminUserIds: [first.id, other.id] },
  });
});

afterAll(async () => {
  await e2e?.close();
});

const SUMMARY = /"level":50[^\n]*the host database has been failing writes for \d+ s/g;

it("keeps retrying a write that always fails, reports it each interval, in /status and in doctor, and catches up after", async () => {
  const startedAt = Date.now();
  e2e.start({ STARLING_FAIL_AT: "outbox_sent:1:1000000", STARLING_STORE_REPORT_MS: "1000" });
  e2e.send(first, "hello [m:dd-1]");
  // Telegram took the reply; only deleting it from the outbox fails, again and again.
  await e2e.until(() => e2e.replies(first.id).some((r) => (r.text ?? "").includes("m:dd-1")), "the reply to m:dd-1");
  await e2e.until(() => (e2e.logTail(2000).match(SUMMARY) ?? []).length >= 2, "a summary at error level, repeated each interval", 60_000);

  e2e.send(other, "/status");
  const status = await e2e
    .until(() => e2e.replies(other.id).find((r) => (r.text ?? "").includes("Storage:")), "/status naming the failing database")
    .catch((err: Error) => {
      throw new Error(`${err.message.split("\n")[0]}; the chat got: ${JSON.stringify(e2e.replies(other.id).map((r) => r.text))}`);
    });
  expect(status.text).toMatch(/⚠️ Storage: the host database has been failing writes since \S+ at outbox_sent \(\d+ failed; last: EIO/);

  const doctor = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", e2e.workdir], e2e.env, { timeoutMs: 60_000 });
  expect(doctor.output).toMatch(/store[^\n]*has been failing writes since/);
  expect(doctor.code, "doctor exits 1 with a problem").toBe(1);
  expect(e2e.host!.child.exitCode, "the host kept running").toBeNull();

  // The disk works again (the next start has no fault): the stuck item is settled, the next message answered.
  await e2e.stop("SIGKILL");
  e2e.start();
  e2e.send(first, "again [m:dd-2]");
  await e2e.until(() => e2e.replies(first.id).some((r) => (r.text ?? "").includes("m:dd-2")), "the reply to m:dd-2");
  const healthy = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", e2e.workdir], e2e.env, { timeoutMs: 60_000 });
  expect(healthy.output).not.toMatch(/failing writes/);
  expect((await e2e.stop()).code, "the host exits 0 on SIGTERM").toBe(0);
  const report = formatViolations(checkHistory(recordHistory(e2e.telegram, startedAt)));
  expect(report, report).toBe("");
}, 180_000);
