// `log.audit` (docs/SECURITY.md "Audit log"): a conversation's audit file is rotated at the configured size
// and only the configured number of rotated files is kept; `starling audit` still reads what is kept.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateChat } from "../fakes/telegram-api.js";
import { runCliOnce } from "./host-harness.js";
import { startE2E, type E2E } from "./fixture.js";

const chat = privateChat(302, "Rotator");
let e2e: E2E;

beforeAll(async () => {
  // ~315 bytes per file: each turn's two records (started, ended, ~165 bytes each) fill one, so every turn rotates.
  e2e = await startE2E({
    responder: () => ({ text: "ok" }),
    config: { adminUserIds: [chat.id], extra: { log: { level: "debug", audit: { max_file_mb: 0.0003, keep_files: 2 } } } },
  });
});

afterAll(async () => {
  await e2e?.close();
});

describe("audit log rotation from config", { timeout: 90_000 }, () => {
  it("rotates at log.audit.max_file_mb and keeps log.audit.keep_files rotated files", async () => {
    const auditDir = join(e2e.workdir, "audit");
    const files = () => readdirSync(auditDir).sort();
    const turnIds = (name: string) =>
      readFileSync(join(auditDir, name), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { turnId: number; type: string }))
        .map((r) => `${r.type}#${r.turnId}`);
    for (let i = 1; i <= 5; i++) expect(await e2e.ask(chat, `turn ${i}`, { timeoutMs: 30_000 })).toBe("ok");
    // The fifth turn's end is written after its reply; it fills its file, which is rotated at once.
    await e2e.until(() => files().length > 0 && turnIds(files().at(-1)!).includes("turn_ended#5"), "the last turn's records");
    const names = files();
    expect(names.every((n) => /^tg-\d+\.\d{8}T\d{6}\d{0,3}Z\.jsonl$/.test(n)), names.join(", ")).toBe(true);
    // One file per turn (its two records pass ~315 bytes); turns 1-3's files were deleted, two rotated kept.
    expect(names.map(turnIds)).toEqual([
      ["turn_started#4", "turn_ended#4"],
      ["turn_started#5", "turn_ended#5"],
    ]);

    const printed = await runCliOnce(["audit", "--workdir", e2e.workdir]);
    expect(printed.code).toBe(0);
    expect(printed.output).toMatch(/turn 5 {2}turn completed/);
    expect(printed.output).not.toMatch(/turn 3 /);
  });
});
