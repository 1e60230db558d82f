// `GET …/events` against a client that does not read: the stream waits for the socket instead of
// buffering the whole history (and every live piece) in the host's memory, and a client that reads
// again gets every event once, in order, and the live text from offset 0.
import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { EventHub, streamEvents } from "../../src/channels/web/event-stream.js";
import { WebLog } from "../../src/channels/web/web-log.js";

/** A response whose client reads nothing until `read()`: writes pile up in the stream's buffer. */
class StalledClient extends Writable {
  handed = 0;
  received = "";
  private reading = false;
  private parked: (() => void)[] = [];
  constructor() {
    super({ highWaterMark: 16 * 1024, decodeStrings: false });
  }
  writeHead(): this {
    return this;
  }
  override write(chunk: string): boolean {
    this.handed += chunk.length;
    return super.write(chunk);
  }
  override _write(chunk: string, _enc: BufferEncoding, done: () => void): void {
    this.received += chunk;
    if (this.reading) done();
    else this.parked.push(done);
  }
  read(): void {
    this.reading = true;
    for (const done of this.parked.splice(0)) done();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chat = { channelId: "web", chatId: "c", type: "private" as const, title: "" };

describe("web event stream backpressure", () => {
  let dir = "";
  let log: WebLog | null = null;
  afterEach(async () => {
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops reading the log while the client does not read, then sends everything once", async () => {
    dir = mkdtempSync(join(tmpdir(), "web-sse-"));
    log = await WebLog.open(dir);
    const big = "x".repeat(100_000);
    for (let i = 0; i < 30; i++) await log.append(Array.from({ length: 10 }, () => ({ conversationId: "c", at: "", kind: "assistant" as const, text: big })));
    const hub = new EventHub();
    const client = new StalledClient();
    streamEvents(client as unknown as ServerResponse, hub, log, "c", 0);
    await sleep(300);
    // Live pieces while the client is stalled: a long answer streamed to nobody.
    hub.progress({ chat, conversationId: "c", turnKey: "t", model: "m", phase: "calling_model", step: 1, startedAt: Date.now() });
    for (let i = 0; i < 200; i++) hub.delta({ chat, conversationId: "c", turnKey: "t", text: big.slice(0, 10_000) });
    await sleep(100);
    expect(client.handed).toBeLessThan(1_000_000); // 300 events of 100 kB: 30 MB before the fix
    client.read();
    const ids = () => [...client.received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const deltas = () => [...client.received.matchAll(/^event: delta\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { offset: number; text: string });
    const sent = (d: { offset: number; text: string } | undefined) => (d ? d.offset + d.text.length : 0);
    // Until everything came (30 MB of log read back: a loaded machine took longer than the 1 s this once waited), or 30 s.
    for (const until = Date.now() + 30_000; Date.now() < until && (ids().length < 300 || sent(deltas().at(-1)) < 2_000_000); ) await sleep(50);
    expect(ids()).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const all = deltas();
    expect(all[0]?.offset).toBe(0);
    expect(sent(all.at(-1))).toBe(2_000_000);
    client.destroy();
  });
});
