// Idle shutdown (workers.idle_shutdown_seconds): the worker stops, /status still reports the
// session, and the next message starts a worker on the same history. No warm spare here: the test
// counts the host's worker processes, and a spare would stay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

function respond(req: RecordedRequest): ScriptedReply {
  if (lastUserText(req).includes("[recall]")) {
    return { text: requestText(req).includes("PELICAN7") ? "You said PELICAN7." : "I do not remember." };
  }
  return { text: "Noted.", usage: { prompt_tokens: 50, completion_tokens: 5 } };
}

const chat = privateChat(801, "Idle");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id], workers: { idle_shutdown_seconds: 1, warm_spares: 0 } } });
});

afterAll(async () => {
  await e2e?.close();
});

describe("idle workers", { timeout: 60_000 }, () => {
  it("shuts an idle worker down; /status and the next message still find the session", async () => {
    expect(await e2e.ask(chat, "remember PELICAN7 [memo]")).toBe("Noted.");
    await e2e.until(() => /idle worker shut down/.test(e2e.logTail(200)), "the idle worker to be shut down", 10_000);
    await e2e.until(() => e2e.host!.workerPids().length === 0, "the worker process to exit", 10_000);

    const status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/^Session: idle/m);
    expect(status).toMatch(/^Tokens: 50 in \/ 5 out over 1 turns?/m);

    expect(await e2e.ask(chat, "what did I say? [recall]")).toBe("You said PELICAN7.");
  });
});
