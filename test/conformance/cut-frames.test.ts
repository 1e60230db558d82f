// Frames that stop arriving part-way: stdin closed in the middle of one, and a declared Content-Length
// whose bytes stop coming while stdin stays open.
import { once } from "node:events";
import { expect, it } from "vitest";
import { ErrorCodes } from "@starling/protocol";
import { delay, initializedRawWorker } from "./harness.js";

const header = (length: number) => `Content-Length: ${length}\r\n\r\n`;

it("stdin closed in the middle of a frame: the worker exits 0 and logs one line saying how much of the frame arrived", async (ctx) => {
  const raw = await initializedRawWorker(ctx);
  const part = '{"jsonrpc":"2.0","id":2,"method":"session/query"';
  raw.writeRaw(header(100) + part);
  await delay(200);
  const exited = once(raw.child, "exit");
  raw.child.stdin.end();
  const [code] = (await exited) as [number | null];
  expect(code).toBe(0);
  const cut = raw.stderrLines().filter((l) => String(l["msg"]).includes("in the middle of a frame"));
  expect(cut).toHaveLength(1);
  expect(cut[0]).toMatchObject({ receivedBytes: Buffer.byteLength(part), declaredBytes: 100 });
  expect(cut[0]!["msg"]).toBe(`stdin closed in the middle of a frame: ${Buffer.byteLength(part)} of its 100 declared bytes arrived; the frame is dropped`);
});

it("a frame whose declared bytes stop arriving is dropped after STARLING_FRAME_STALL_MS with a ParseError for its id; a slow frame is not", async (ctx) => {
  const raw = await initializedRawWorker(ctx, { STARLING_FRAME_STALL_MS: "1000" });
  // A live client writing slowly (a byte group every 300 ms, 2.4 s in all) is served.
  const slow = JSON.stringify({ jsonrpc: "2.0", id: 4, method: "session/query", params: { view: "live_state" } });
  raw.writeRaw(header(Buffer.byteLength(slow)));
  for (let at = 0; at < slow.length; at += 8) {
    raw.writeRaw(slow.slice(at, at + 8));
    await delay(300);
  }
  expect(await raw.next((m) => m["id"] === 4)).toHaveProperty("result");

  const part = '{"jsonrpc":"2.0","id":5,"method":"session/query","params":{"view":';
  raw.writeRaw(header(200) + part);
  const started = Date.now();
  const dropped = await raw.next((m) => m["id"] === 5, 10_000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  expect(dropped["error"]).toMatchObject({
    code: ErrorCodes.ParseError,
    message: `parse error: a frame stopped arriving: ${Buffer.byteLength(part)} of its 200 declared bytes arrived, none for 1000 ms; it is dropped (Content-Length counts the bytes of the UTF-8 body)`,
  });
  expect(raw.stderrLines().some((l) => String(l["msg"]).includes("unreadable frame skipped") && String(l["err"]).includes("stopped arriving"))).toBe(true);
  // The worker keeps serving; the rest of the dropped frame, should it come late, is skipped as stray bytes.
  raw.writeRaw('"live_state"}}');
  raw.send({ jsonrpc: "2.0", id: 6, method: "session/query", params: { view: "live_state" } });
  expect(await raw.next((m) => m["id"] === 6)).toHaveProperty("result");
}, 30_000);
