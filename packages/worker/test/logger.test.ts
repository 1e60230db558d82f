// The worker's log lines: pino's JSON line shape (the host reads a worker's stderr as it reads pino's),
// levels, keys never written, and a real worker's log file through STARLING_WORKER_LOG.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createRedactor, NO_REDACTION, PROTOCOL_VERSION, spawnWorker } from "@starling/protocol";
import { createLogger, redactWorkerLogs } from "../src/logger.js";
import { tempWorkspace, WORKER_MAIN } from "../../../test/conformance/harness.js";
import { startFakeOpenAI } from "../../../test/fakes/openai-server.js";

function capture(level = "info") {
  const lines: string[] = [];
  const log = createLogger(level, { pid: 42, component: "worker" }, (line) => lines.push(line));
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records };
}

afterEach(() => redactWorkerLogs(NO_REDACTION));

describe("worker log lines", () => {
  it("are one JSON object per line: level number, time, bindings, the object's fields, msg", () => {
    const { log, lines, records } = capture();
    const before = Date.now();
    log.info({ sessionId: "s.foreground", summary: { historyLength: 3 } }, "session initialized");
    log.warn("connection error");
    expect(lines.every((l) => l.endsWith("}\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const [first, second] = records();
    expect(first).toEqual({ level: 30, time: expect.any(Number), pid: 42, component: "worker", sessionId: "s.foreground", summary: { historyLength: 3 }, msg: "session initialized" });
    expect(first!["time"]).toBeGreaterThanOrEqual(before);
    expect(second).toMatchObject({ level: 40, msg: "connection error" });
  });

  it("are written from the configured level up", () => {
    const { log, records } = capture("warn");
    log.debug({}, "d");
    log.info({}, "i");
    log.warn({}, "w");
    log.error({}, "e");
    log.fatal({}, "f");
    expect(records().map((r) => [r["level"], r["msg"]])).toEqual([
      [40, "w"],
      [50, "e"],
      [60, "f"],
    ]);
    const silent = capture("silent");
    silent.log.fatal({}, "nothing");
    expect(silent.lines).toEqual([]);
  });

  it("refuses an unknown level, naming the variable and the levels there are", () => {
    expect(() => createLogger("loud", {}, () => undefined)).toThrow(/unknown log level "loud" \(STARLING_LOG_LEVEL\): use one of trace, debug, info, warn, error, fatal, silent/);
  });

  it("write an Error as its type, message and stack, and never the value of a key-like field", () => {
    const { log, records } = capture();
    log.error({ err: new TypeError("bad thing"), model: { apiKey: "sk-1", token: "t-2", name: "m" }, authorization: "kept at the top" }, "failed");
    const [r] = records();
    expect(r!["err"]).toMatchObject({ type: "TypeError", message: "bad thing", stack: expect.stringContaining("TypeError: bad thing") });
    expect(r!["model"]).toEqual({ apiKey: "[redacted]", token: "[redacted]", name: "m" });
    expect(JSON.stringify(r)).not.toMatch(/sk-1|t-2/);
  });

  it("pass the session's redactor: a key's value never appears, whatever field carries it", () => {
    const { log, lines } = capture();
    redactWorkerLogs(createRedactor({ MODEL_KEY: "sk-live-0123456789abcdef" }, []));
    log.warn({ method: "sk-live-0123456789abcdef" }, "ignored unknown notification");
    expect(lines.join("")).not.toContain("sk-live-0123456789abcdef");
    expect(lines.join("")).toContain("[redacted:MODEL_KEY]");
  });

  it("survive fields JSON cannot hold (a cycle) with a note instead of the line being lost", () => {
    const { log, records } = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    log.warn({ cyclic }, "odd");
    expect(records()[0]).toMatchObject({ level: 40, msg: "odd", logError: expect.stringMatching(/unserialisable log fields/) });
  });
});

describe("a worker's log file (STARLING_WORKER_LOG)", () => {
  it("gets the worker's lines, with its pid, and no model key even when a request carries one", async () => {
    const ws = tempWorkspace("starling-worker-log-");
    const fake = await startFakeOpenAI();
    const file = join(ws.dir, "logs", "worker.log"); // its folder does not exist yet
    const key = "sk-live-worker-log-test-0042";
    const client = spawnWorker({
      command: [process.execPath, WORKER_MAIN],
      cwd: ws.dir,
      env: { PATH: process.env.PATH ?? "", HOME: ws.dir, FAKE_MODEL_KEY: key, STARLING_WORKER_LOG: file, STARLING_LOG_LEVEL: "info" },
      stderr: () => undefined,
    });
    try {
      await client.initialize({
        protocolVersion: PROTOCOL_VERSION,
        sessionId: "logtest.foreground",
        sessionType: "foreground",
        workspace: ws.dir,
        model: { provider_type: "open_router_completion", model_name: "fake-model", url: fake.url, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] },
      });
      // A notification the worker does not know is logged with its method name: here the key itself.
      const body = JSON.stringify({ jsonrpc: "2.0", method: key });
      client.child.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await client.query({ view: "live_state" }); // answered after the notification was handled
      await client.shutdown();
      await client.exited;
      const records = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records).toContainEqual(expect.objectContaining({ level: 30, pid: client.child.pid, component: "worker", sessionId: "logtest.foreground", msg: "session initialized" }));
      expect(records).toContainEqual(expect.objectContaining({ level: 40, method: "[redacted:FAKE_MODEL_KEY]", msg: "ignored unknown notification" }));
      expect(readFileSync(file, "utf8")).not.toContain(key);
    } finally {
      if (client.child.exitCode === null && client.child.signalCode === null) client.child.kill("SIGKILL");
      await fake.close();
      ws.cleanup();
    }
  });
});
