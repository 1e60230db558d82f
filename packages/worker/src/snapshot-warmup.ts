// Run once while the worker's start-up snapshot is built (snapshot.ts), never in a running worker.
// V8 keeps the bytecode of every function that ran before the heap was serialised, so a worker started
// from the blob does not parse and compile these paths again on its first `initialize` and first turn
// (lazy compilation was most of their first-run cost). Only pure work here: nothing that opens a file
// descriptor, starts a timer or a socket, or loads a native addon survives into a snapshot.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSystemPrompt, createSessionMachine, ToolRuntime, type SessionDeps } from "@starling/core";
import {
  AckEventsParams,
  ControlParams,
  EnqueueParams,
  InitializeParams,
  InitializeResult,
  PROTOCOL_VERSION,
  QueryParams,
  SessionEventParams,
} from "@starling/protocol";

export function warmUpForSnapshot(): void {
  const workspace = mkdtempSync(join(tmpdir(), "starling-snapshot-warmup-"));
  try {
    const init = InitializeParams.parse({
      protocolVersion: PROTOCOL_VERSION,
      sessionId: "warmup.foreground",
      sessionType: "foreground",
      workspace,
      model: {
        provider_type: "open_router_completion",
        model_name: "warmup",
        url: "http://127.0.0.1:9/v1",
        api_key_env: "STARLING_WARMUP_KEY",
        capabilities: ["chat"],
        retry_mode: { random_interval: { max_interval_secs: 1, max_retries: 1 } },
      },
    });
    const message = { role: "user", content: [{ type: "text", text: "hello" }] };
    EnqueueParams.parse({ messageId: "m1", kind: "user", message });
    ControlParams.parse({ reason: "warm-up" });
    QueryParams.parse({ view: "live_state" });
    AckEventsParams.parse({ upTo: 1 });
    InitializeResult.safeParse({});
    SessionEventParams.safeParse({ seq: 1, event: { type: "turn_started", turnId: 1 } });
    // The tool catalog (every built-in tool's parameters as JSON Schema) and the system prompt.
    const tools = new ToolRuntime({ workspace, sessionId: init.sessionId, coordinate: async () => ({ ok: false, error: "warm-up" }) });
    const toolNames = tools.catalog().map((t) => t.name);
    buildSystemPrompt({ workspace, sessionType: init.sessionType, toolNames });
    // The session's xstate machine definition (creating it reads only `store` and `journal`, and does not use them).
    const unused = { store: { queue: [] }, journal: { isUnfinished: () => false } } as unknown as SessionDeps;
    createSessionMachine(unused);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}
