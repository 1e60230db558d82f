// `starling audit` argument handling and output on real files (the e2e suite runs it as a process).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.js";
import { parseSince, runAudit } from "../../src/cli/audit.js";

let workdir: string;
beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), "starling-audit-"));
  mkdirSync(join(workdir, "audit"));
});
afterEach(() => rmSync(workdir, { recursive: true, force: true }));

const base = { v: 1, conversationId: "tg-000001", sessionId: "tg-000001.foreground", turnId: 4 };
function run(args: { conversation?: string; since?: string; json?: boolean }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runAudit({ workdir, json: false, ...args }, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe("starling audit", () => {
  it("parses its flags and names what is missing or wrong", () => {
    expect(parseCli(["audit", "--workdir", "w", "--conversation", "tg-000001", "--since", "2h", "--json"])).toEqual({
      kind: "audit",
      workdir: "w",
      conversation: "tg-000001",
      since: "2h",
      json: true,
    });
    expect(() => parseCli(["audit"])).toThrow(/audit needs --workdir DIR/);
    expect(() => parseCli(["audit", "--workdir", "w", "--sinse", "2h"])).toThrow(/--sinse/);
    expect(parseSince("90m", Date.parse("2026-05-01T12:00:00Z")).toISOString()).toBe("2026-05-01T10:30:00.000Z");
    expect(parseSince("2026-05-01").toISOString()).toBe("2026-05-01T00:00:00.000Z");
    expect(() => parseSince("yesterday")).toThrow(/--since "yesterday": give an ISO time .* or a duration such as 30m, 2h or 7d/);
    expect(run({ since: "soon" })).toMatchObject({ code: 2, out: [] });
  });

  it("shows a started call whose end was lost as outcome unknown, filters by time and conversation, skips bad lines", () => {
    const lines = [
      { ...base, type: "turn_started", time: "2026-05-01T10:00:00.000Z", messageIds: ["tg:1", "tg:2"] },
      { ...base, type: "tool_started", time: "2026-05-01T10:00:01.000Z", callId: "c1", tool: "shell", target: "bubblewrap", arguments: '{"command":"make"}' },
      "not json",
      { ...base, type: "turn_ended", time: "2026-05-01T10:00:09.000Z", outcome: "recovered", detail: "interrupted by a crash" },
    ];
    writeFileSync(join(workdir, "audit", "tg-000001.jsonl"), lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
    const all = run({});
    expect(all.code).toBe(0);
    expect(all.out).toEqual([
      "2026-05-01T10:00:00.000Z  tg-000001  foreground  turn 4  turn started  (2 messages)",
      '2026-05-01T10:00:01.000Z  tg-000001  foreground  turn 4  shell  @bubblewrap  outcome unknown (no end recorded)  {"command":"make"}',
      "2026-05-01T10:00:09.000Z  tg-000001  foreground  turn 4  turn recovered  interrupted by a crash",
    ]);
    expect(all.err).toEqual([expect.stringMatching(/tg-000001\.jsonl:3: not an audit record; skipped$/)]);
    expect(run({ since: "2026-05-01T10:00:05Z" }).out).toHaveLength(1);
    const other = run({ conversation: "tg-000002" });
    expect(other.out).toEqual([]);
    expect(other.err.at(-1)).toBe("starling: audit: no records for conversation tg-000002");
  });
});
