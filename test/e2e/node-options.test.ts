// A host started with NODE_OPTIONS holding V8 flags (a common `--max-old-space-size` in a shell profile):
// workers inherit NODE_OPTIONS (it is allowlisted), and the start-up snapshot refuses flags it was not
// built with, so every worker died at start ("Failed to load the startup snapshot"). The host now starts
// its workers without the snapshot then, says so in its log, and answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(851, "NodeOptions");
let e2e: E2E;

describe("NODE_OPTIONS with V8 flags", () => {
  beforeAll(async () => {
    e2e = await startE2E({ responder: (req: RecordedRequest): ScriptedReply => ({ text: `echo: ${lastUserText(req)}` }), start: false, config: { adminUserIds: [chat.id] } });
  });
  afterAll(() => e2e?.close());

  it("workers still start and answer; the host log says why they start without the snapshot", async () => {
    e2e.start({ NODE_OPTIONS: "--max-old-space-size=4096" });
    expect(await e2e.ask(chat, "hello", { timeoutMs: 40_000 })).toMatch(/echo: [\s\S]*hello$/);
    const note = e2e.logRecords().find((r) => typeof r.msg === "string" && r.msg.includes("without the start-up snapshot"));
    expect(note?.msg).toContain('NODE_OPTIONS="--max-old-space-size=4096"');
  });
});
