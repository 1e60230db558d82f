// Run once while the worker's start-up snapshot is built (snapshot.ts), never in a running worker.
// V8 keeps the bytecode of every function that ran before the heap was serialised, so a worker started
// from the blob does not parse and compile these paths again on its first `initialize` and first turn
// (lazy compilation was most of their first-run cost). Nothing that holds a file descriptor, a timer,
// a socket or a native addon may outlive the warm-up: the snapshot cannot hold it. The builder runs the
// event loop until it is empty before it serialises the heap, so the turns (snapshot-warmup-turn.ts)
// finish first; snapshot.ts refuses to serialise a heap whose warm-up did not finish.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  beginSchemaWarmUp,
  cancelParams,
  COORDINATE_ACTIONS,
  InitializeParams,
  Methods,
  PROTOCOL_VERSION,
  queryParams,
  releaseWarmUpSchemas,
} from "@starling/protocol";
import { builtinTools, releaseBodyBuffer } from "@starling/core";
import { parseParams } from "./rpc-errors.js";
import { WARMUP_KEY_ENV, warmUpTurns } from "./snapshot-warmup-turn.js";

/** The warm-up model's `conn_timeout`: its turns set (and clear) a header timer this long. */
export const WARMUP_CONN_TIMEOUT_SECS = 10;

/**
 * Read when the blob is built, for tests only: another warm-up `conn_timeout` in seconds, so
 * test/snapshot.test.ts can wait past the build's header timer (src/snapshot-timers.ts) in ~1 s, not 10.
 */
export const WARMUP_CONN_TIMEOUT_ENV = "STARLING_TEST_WARMUP_CONN_TIMEOUT_SECS";

function warmUpConnTimeoutSecs(): number {
  const value = Number(process.env[WARMUP_CONN_TIMEOUT_ENV] ?? NaN);
  return value > 0 ? value : WARMUP_CONN_TIMEOUT_SECS;
}

/** What the warm-up must not leave behind: handles and requests, process listeners, the working directory. */
export function processResidue(): string[] {
  return [
    `cwd ${process.cwd()}`,
    ...process.getActiveResourcesInfo().map((r) => `resource ${r}`),
    ...process.eventNames().map((name) => `listener ${String(name)} x${process.listenerCount(name)}`),
  ].sort();
}

export async function warmUpForSnapshot(): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), "starling-snapshot-warmup-"));
  try {
    // Parsed as the worker parses a request (parseParams: zod without its JIT), with every part of the
    // params the host sends (compression, secret digests, a full sandbox, remote), so a worker's first
    // initialize walks no schema the warm-up left unparsed.
    const init = parseParams(Methods.initialize.method, InitializeParams, {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: "warmup.foreground",
      sessionType: "foreground",
      // As the host starts every conversation's worker: its host tools (their parameters' JSON Schemas are
      // converted once, here, not in each worker's first initialize: ~10 ms of CPU) and a tool sandbox.
      hostActions: Object.keys(COORDINATE_ACTIONS),
      sandbox: {
        mode: "subprocess",
        bubblewrapBinary: "bwrap",
        sharedDir: join(workspace, "shared"),
        softwareMountPath: "/opt",
        network: true,
        env: {},
        limits: { memoryMb: 4096 },
        hiddenPaths: [join(workspace, "config.json")],
      },
      remote: { mode: "off" },
      compression: { thresholdTokens: 180_000, retainRecentTokens: 36_000 },
      secretDigests: [{ name: "STARLING_WARMUP_WITHHELD", length: 46, sha256: "0".repeat(64) }],
      workspace,
      model: {
        provider_type: "open_router_completion",
        model_name: "warmup",
        url: "http://127.0.0.1:9/v1/chat/completions",
        api_key_env: WARMUP_KEY_ENV,
        capabilities: ["chat"],
        token_max_context: 1_048_576,
        conn_timeout: warmUpConnTimeoutSecs(),
        retry_mode: { random_interval: { max_interval_secs: 1, max_retries: 1 } },
      },
    });
    // Session.open (tool catalog, system prompt, session machine) and two turns. The tools' argument
    // schemas built meanwhile are dropped afterwards: their JSON Schemas stay cached (core tool-runtime.ts),
    // and a worker builds a tool's zod schema when the tool is called. So are the params of the requests
    // the turns do not send, parsed here for the code they run: a worker builds them when it gets one.
    beginSchemaWarmUp();
    try {
      parseParams(Methods.cancel.method, cancelParams(), { reason: "warm-up" });
      parseParams(Methods.query.method, queryParams(), { view: "live_state" });
      await warmUpTurns(init);
    } finally {
      releaseWarmUpSchemas();
      // Not in the snapshot: a worker's first model call allocates it.
      releaseBodyBuffer();
    }
    // Except the workspace tools' (files, search, shell: what first turns call): built and parsed once
    // more, their schemas and zod's compiled parsers for them stay in the snapshot. Rebuilt in a worker,
    // file_read's cost its first call ~6 ms of CPU (probe-worker-turns --tool; docs/PERFORMANCE.md).
    for (const tool of builtinTools()) tool.parameters().safeParse({});
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}
