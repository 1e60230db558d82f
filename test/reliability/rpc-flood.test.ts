// Bad input at volume (issue #7): thousands of malformed JSON-RPC frames interleaved with good
// requests, sent to a real worker over stdio. Every good request is answered, every bad request
// with an id gets a clear error, every frame that is not JSON a parse error, the worker stays up
// and its memory stays bounded. (One bad frame of each kind, with its exact error, is in
// test/conformance/bad-input.test.ts.)
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "@starling/protocol";
import { initializedRawWorker, newEnv, rawWorker, WORKER_MAIN } from "../conformance/harness.js";

const ROUNDS = 30;
const BAD_PER_ROUND = 100;
const BLOB = "y".repeat(100_000);
/** The worker's old-space limit for this test. */
const HEAP_MB = 48;

/** Resident memory of a process in MB (Linux). */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  return kb / 1024;
}

/** The bad frames of one round, the ids that expect an error answer, and how many are not JSON. */
function badFrames(round: number, nextId: () => number): { frames: string[]; expectErrors: number[]; parseErrors: number } {
  const frames: string[] = [];
  const expectErrors: number[] = [];
  let parseErrors = 0;
  const frame = (body: string) => frames.push(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  for (let i = 0; i < BAD_PER_ROUND; i++) {
    switch (i % 6) {
      case 0: // cut off mid-JSON
        frame(`{"jsonrpc":"2.0","id":${round},"method":"session/query","params":{`);
        parseErrors++;
        break;
      case 1: // JSON, but not a JSON-RPC message (logged by the worker, not answered)
        frame(i % 12 === 1 ? "[1,2,3]" : `"just a string ${i}"`);
        break;
      case 2: { // an unknown method
        const id = nextId();
        frame(JSON.stringify({ jsonrpc: "2.0", id, method: `session/nope${i}`, params: {} }));
        expectErrors.push(id);
        break;
      }
      case 3: { // invalid params
        const id = nextId();
        frame(JSON.stringify({ jsonrpc: "2.0", id, method: "session/query", params: { view: "everything", junk: "x".repeat(2000) } }));
        expectErrors.push(id);
        break;
      }
      case 4: // a big notification nobody handles (no answer expected): ~50 MB over the run, so a leak would show
        frame(JSON.stringify({ jsonrpc: "2.0", method: `host/unknown${i}`, params: { blob: BLOB } }));
        break;
      case 5:
        if (i % 12 === 5) {
          // A raw control byte inside a string: not JSON.
          frame(`{"jsonrpc":"2.0","method":"host/bytes","params":{"s":"raw ${String.fromCharCode(0)} control byte"}}`);
          parseErrors++;
        } else {
          // Escaped lone surrogates: valid JSON, an unknown notification.
          frame(`{"jsonrpc":"2.0","method":"host/bytes","params":{"s":"lone \\ud800 surrogate \\udc00"}}`);
        }
        break;
    }
  }
  return { frames, expectErrors, parseErrors };
}

describe("JSON-RPC frames at volume", () => {
  it(`${ROUNDS * BAD_PER_ROUND} bad frames interleaved with good requests: the good ones answered, clear errors, the worker up, memory bounded`, async (ctx) => {
    const { dir, initParams } = await newEnv(ctx);
    // A small heap makes "memory bounded" sharp: the run sends about 50 MB, so a worker that kept
    // the frames would run out of memory and die, and the good requests after that go unanswered.
    const nodeOptions = process.env["NODE_OPTIONS"];
    process.env["NODE_OPTIONS"] = `${nodeOptions ?? ""} --max-old-space-size=${HEAP_MB}`.trim();
    // The separate modules: the start-up snapshot starts only under the V8 flags it was built with.
    const raw = rawWorker(dir, {}, [WORKER_MAIN]);
    if (nodeOptions === undefined) delete process.env["NODE_OPTIONS"];
    else process.env["NODE_OPTIONS"] = nodeOptions;
    ctx.onTestFinished(() => raw.close());
    raw.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: initParams() });
    expect(await raw.next((m) => m["id"] === 1)).toMatchObject({ result: { protocolVersion: 1 } });

    let id = 1000;
    const nextId = () => id++;
    const good: number[] = [];
    const bad: number[] = [];
    let parseErrors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const batch = badFrames(round, nextId);
      bad.push(...batch.expectErrors);
      parseErrors += batch.parseErrors;
      // Good requests at the start and in the middle of the round's bad frames, and one after them.
      for (const [k, f] of batch.frames.entries()) {
        if (k % 50 === 0) {
          const goodId = nextId();
          good.push(goodId);
          raw.send({ jsonrpc: "2.0", id: goodId, method: "session/query", params: { view: "live_state" } });
        }
        raw.writeRaw(f);
      }
      const last = nextId();
      good.push(last);
      raw.send({ jsonrpc: "2.0", id: last, method: "session/query", params: { view: "live_state" } });
      // Wait for this round's answers before the next (a real host waits for its answers too).
      await raw.next((m) => m["id"] === last, 30_000);
    }

    const byId = new Map(raw.received.filter((m) => typeof m["id"] === "number").map((m) => [m["id"] as number, m]));
    const unanswered = good.filter((g) => !(byId.get(g) as { result?: unknown } | undefined)?.result);
    expect(unanswered, "every good request answered with a result").toEqual([]);
    for (const b of bad) {
      const error = (byId.get(b) as { error?: { code: number; message: string } } | undefined)?.error;
      expect(error, `request ${b} got an error`).toBeDefined();
      expect([ErrorCodes.MethodNotFound, ErrorCodes.InvalidParams]).toContain(error!.code);
      expect(error!.message).toMatch(/session\/nope|view/);
    }
    const parseErrorAnswers = raw.received.filter((m) => m["id"] === null && (m["error"] as { code?: number } | undefined)?.code === ErrorCodes.ParseError);
    expect(parseErrorAnswers.length, "one parse error per frame that is not JSON").toBe(parseErrors);
    expect(raw.child.exitCode, "the worker is still running").toBeNull();
    expect(rssMb(raw.child.pid!), "resident memory (MB)").toBeLessThan(HEAP_MB + 200);
  }, 120_000);

  it("a client that stops reading stdout: the worker stops reading requests instead of buffering answers without bound, and answers all once read", async (ctx) => {
    const raw = await initializedRawWorker(ctx);
    const big = "b".repeat(512 * 1024);
    raw.send({ jsonrpc: "2.0", id: 2, method: "session/enqueue", params: { messageId: "big", kind: "user", message: { role: "user", content: [{ type: "text", text: big }] } } });
    // The message is in the history once its turn ended (this raw worker has no model key: the turn fails).
    await raw.next((m) => m["method"] === "session/event" && /^turn_(completed|failed)$/.test((m["params"] as { event: { type: string } }).event.type), 30_000);
    const before = rssMb(raw.child.pid!);

    // Each answer is the 512 kB message: 300 of them are 150 MB the client does not read.
    raw.child.stdout.pause();
    const ids = Array.from({ length: 300 }, (_, k) => 100 + k);
    for (const id of ids) {
      raw.send({ jsonrpc: "2.0", id, method: "session/query", params: { view: "message_detail", index: 0 } });
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const grown = rssMb(raw.child.pid!) - before;
    // Answers written to stdout are external memory (Buffers) V8 frees only at a collection it forces past ~64 MB of
    // external allocation, so growth up to about that is normal (80.9 MB seen in CI while catching up); buffering the
    // 300 unread answers is 150 MB of strings plus as much again in the pipe's write queue.
    expect(grown, "worker memory growth (MB) while its stdout is not read").toBeLessThan(120);

    // Catching up, the held requests run a few at a time, not all at once.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(raw.child.pid!) - before)), 10);
    raw.child.stdout.resume();
    await raw.next((m) => m["id"] === ids.at(-1), 30_000);
    clearInterval(sampler);
    expect(peak, "worker memory growth (MB) while the client catches up").toBeLessThan(120);
    const answered = new Set(raw.received.filter((m) => "result" in m).map((m) => m["id"]));
    expect(ids.filter((id) => !answered.has(id)), "every query answered").toEqual([]);
    expect(raw.child.exitCode).toBeNull();
  }, 90_000);

  it("a frame over the worker's size limit is skipped without being held: a parse error naming the limit, the next request answered", async (ctx) => {
    const raw = await initializedRawWorker(ctx);
    const before = rssMb(raw.child.pid!);
    // A valid notification of 200 MB, written in 1 MB pieces as the pipe takes them.
    const piece = Buffer.alloc(1024 * 1024, "z");
    const head = '{"jsonrpc":"2.0","method":"host/huge","params":{"s":"';
    const tail = '"}}';
    const pieces = 200;
    raw.writeRaw(`Content-Length: ${head.length + pieces * piece.length + tail.length}\r\n\r\n${head}`);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(raw.child.pid!) - before)), 10);
    for (let k = 0; k < pieces; k++) {
      if (!raw.child.stdin.write(piece)) await new Promise((r) => raw.child.stdin.once("drain", r));
    }
    raw.writeRaw(tail);
    raw.send({ jsonrpc: "2.0", id: 2, method: "session/query", params: { view: "live_state" } });
    const error = await raw.next((m) => m["id"] === null, 30_000);
    expect(error).toMatchObject({ error: { code: ErrorCodes.ParseError, message: expect.stringMatching(/over the limit of 67108864 bytes/) } });
    expect(await raw.next((m) => m["id"] === 2, 30_000)).toMatchObject({ result: { view: "live_state" } });
    clearInterval(sampler);
    // The dropped chunks are external memory V8 frees at its next collection, which it forces only past ~64 MB of
    // external allocation: growth up to about that is normal (66 MB seen under load); holding the 200 MB frame is not.
    expect(peak, "worker memory growth (MB) while the frame streamed in").toBeLessThan(120);
    expect(raw.child.exitCode).toBeNull();
  }, 60_000);
});
