import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createRedactor } from "@starling/protocol";
import { auditLogPath } from "@starling/workdir-migrations";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog, OPEN_FILES } from "../../src/audit/audit-log.js";
import { readAuditLogs } from "../../src/audit/audit-reader.js";
import { rotateAuditFile } from "../../src/audit/audit-rotation.js";

// Scope: AuditLog appending to real files in a temporary workdir.

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const targets = { conversationId: "tg-000001", sandbox: "subprocess", remote: null };

function lines(path: string): { type: string; turnId: number }[] {
  return readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; turnId: number });
}

describe("AuditLog", () => {
  it("appends one line per record and makes the folder again when it was removed by hand", () => {
    dir = mkdtempSync(join(tmpdir(), "starling-audit-"));
    const audit = new AuditLog(dir, createRedactor({ TOKEN: "s3cret-value" }), () => targets, pino({ level: "silent" }));
    const path = auditLogPath(dir, "tg-000001");
    audit.onEvent("tg-000001.foreground", { type: "turn_started", turnId: 1, messageIds: ["m1"] } as never);
    audit.onEvent("tg-000001.foreground", { type: "turn_completed", turnId: 1 } as never);
    expect(lines(path).map((l) => `${l.type}#${l.turnId}`)).toEqual(["turn_started#1", "turn_ended#1"]);

    rmSync(join(dir, "audit"), { recursive: true, force: true });
    audit.onEvent("tg-000001.foreground", { type: "turn_started", turnId: 2, messageIds: ["m2"] } as never);
    expect(lines(path).map((l) => `${l.type}#${l.turnId}`)).toEqual(["turn_started#2"]);
  });
});

describe("AuditLog files kept open", () => {
  it("starts a new file at the next record when the file was moved away or deleted, and closes its files", () => {
    dir = mkdtempSync(join(tmpdir(), "starling-audit-"));
    const audit = new AuditLog(dir, createRedactor({}), (sessionId) => ({ ...targets, conversationId: sessionId.replace(".foreground", "") }), pino({ level: "silent" }));
    const path = auditLogPath(dir, "tg-000001");
    const turn = (turnId: number) => audit.onEvent("tg-000001.foreground", { type: "turn_started", turnId, messageIds: [`m${turnId}`] } as never);
    turn(1);
    renameSync(path, `${path}.archived`);
    turn(2);
    expect(lines(`${path}.archived`).map((l) => l.turnId)).toEqual([1]);
    expect(lines(path).map((l) => l.turnId)).toEqual([2]);
    unlinkSync(path);
    turn(3);
    expect(lines(path).map((l) => l.turnId)).toEqual([3]);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // Many conversations: only the most recently written files stay open.
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    for (let i = 0; i < OPEN_FILES + 50; i++) audit.onEvent(`c${i}.foreground`, { type: "turn_completed", turnId: 1 } as never);
    expect(fds() - before).toBeLessThanOrEqual(OPEN_FILES);
    audit.close();
    expect(fds()).toBeLessThan(before);
    turn(4); // a record after close opens the file again
    expect(lines(path).map((l) => l.turnId)).toEqual([3, 4]);
    audit.close();
  });
});

describe("AuditLog rotation", () => {
  it("moves a full file aside, keeps the newest rotated files, and the reader still sees every kept record in order", () => {
    dir = mkdtempSync(join(tmpdir(), "starling-audit-"));
    const audit = new AuditLog(dir, createRedactor({}), () => targets, pino({ level: "silent" }), { maxFileBytes: 600, keepRotated: 2 });
    for (let turn = 1; turn <= 30; turn++) {
      audit.onEvent("tg-000001.foreground", { type: "turn_started", turnId: turn, messageIds: [`m${turn}`] } as never);
      audit.onEvent("tg-000001.foreground", { type: "turn_completed", turnId: turn } as never);
    }
    audit.close();
    const files = readdirSync(join(dir, "audit")).sort();
    const rotated = files.filter((f) => /^tg-000001\.\d{8}T\d{9}Z\.jsonl$/.test(f));
    expect(rotated, files.join(", ")).toHaveLength(2);
    for (const f of files) expect(statSync(join(dir, "audit", f)).size).toBeLessThan(600 + 200);
    const { records, problems } = readAuditLogs(dir, "tg-000001");
    expect(problems).toEqual([]);
    const turns = records.filter((r) => r.type === "turn_started").map((r) => r.turnId);
    // The oldest turns went with the deleted files; the rest are there, in order, up to the last one.
    expect(turns.at(-1)).toBe(30);
    expect(turns).toEqual(Array.from({ length: turns.length }, (_, i) => 31 - turns.length + i));
    expect(turns.length).toBeLessThan(30);
    expect(readAuditLogs(dir).records).toHaveLength(records.length);
  });
});

describe("rotateAuditFile", () => {
  it("names the newest rotated file after every existing one, so pruning never deletes it (same millisecond, clock set back)", () => {
    dir = mkdtempSync(join(tmpdir(), "starling-audit-"));
    const audit = join(dir, "audit");
    mkdirSync(audit);
    writeFileSync(join(audit, "tg-000001.20991231T235959999Z.jsonl"), "from a clock ahead\n");
    writeFileSync(join(audit, "tg-000001.jsonl"), "the newest records\n");
    rotateAuditFile(join(audit, "tg-000001.jsonl"), 1);
    const left = readdirSync(audit);
    expect(left).toHaveLength(1);
    expect(readFileSync(join(audit, left[0]!), "utf8")).toBe("the newest records\n");
  });
});
