// A media job the agent started with return_immediate outlives its worker: the helper model's answer came after the
// turn ended, the worker then idled out (0.24.0 keeps it up only while the job runs), and the next turn's wait, in a
// new worker, still gets the answer (before 0.25.0: "unknown media job id").
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastToolResult, lastUserText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(821, "MediaJobIdle");
/** A 1×1 PNG (test/fakes/image-server.ts has it too, but that file does not type-check under the e2e settings). */
const PIXEL_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
let releaseHelper: () => void = () => undefined;
const helperAnswered = new Promise<void>((resolve) => (releaseHelper = resolve));
let e2e: E2E;

function respond(req: RecordedRequest): ScriptedReply {
  if ((req.body as { model?: string }).model === "vision-helper") return { text: "A one-pixel image.", holdUntil: helperAnswered };
  const ask = lastUserText(req);
  if (ask.includes("[analyse]")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "image_analysis", arguments: { path: "pixel.png", return_immediate: true } }] };
    return { text: `Started ${String(lastToolResult(req)["image_id"])}` };
  }
  const asked = /\[result\] (\S+)/.exec(ask)?.[1];
  if (asked) {
    if (!afterTool(req)) return { toolCalls: [{ name: "image_analysis", arguments: { image_id: asked, wait_timeout_seconds: 5 } }] };
    return { text: `Result: ${String(lastToolResult(req)["text"] ?? JSON.stringify(lastToolResult(req)))}` };
  }
  return { text: "ok" };
}

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      workers: { idle_shutdown_seconds: 1, warm_spares: 0 },
      extraModels: {
        vision: { provider_type: "open_router_completion", model_name: "vision-helper", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat", "image_in"], retry_mode: "once" },
      },
      sessionDefaults: { image_tool_model: "vision" },
      extra: { default_profile: { main_model: "main" } },
    }),
  });
});

afterAll(async () => {
  releaseHelper();
  await e2e?.close();
});

describe("a media job across an idle shutdown", { timeout: 60_000 }, () => {
  it("its answer, come after the turn, is given to the next turn by a new worker", async () => {
    expect(await e2e.ask(chat, "hello")).toBe("ok");
    const conversation = /^Conversation: (\S+)$/m.exec(await e2e.ask(chat, "/status"))?.[1];
    writeFileSync(join(e2e.workdir, "conversations", conversation!, "pixel.png"), PIXEL_PNG);

    const started = await e2e.ask(chat, "look at it [analyse]");
    const id = /^Started (image_\S+)$/.exec(started)?.[1];
    expect(id, started).toBeTruthy();
    const [pid] = e2e.host!.workerPids();
    // The job runs: the worker stays up past its idle time.
    await e2e.until(() => e2e.logRecords().some((r) => r["msg"] === "idle shutdown deferred: background work running" && r["pid"] === pid), "an idle check that finds the job", 10_000);
    releaseHelper();
    await e2e.until(() => !e2e.host!.workerPids().includes(pid!), "the worker to idle out once the job ended", 15_000);

    expect(await e2e.ask(chat, `what did it say? [result] ${id}`)).toBe("Result: A one-pixel image.");
    expect(e2e.host!.workerPids()).not.toContain(pid);
  });
});
