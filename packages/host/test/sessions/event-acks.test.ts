import pino from "pino";
import { describe, expect, it } from "vitest";
import { EventAcks } from "../../src/sessions/event-acks.js";
import { createHarness, sleep, waitUntil } from "./harness.js";

// Scope: the coalesced `session/ackEvents` of one worker life — EventAcks on its own (a recording
// `send`), then through the supervisor with the real worker.

function recorder(fail: (upTo: number, call: number) => Error | null = () => null) {
  const calls: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const send = async (upTo: number) => {
    calls.push(upTo);
    const err = fail(upTo, calls.length);
    if (err) throw err;
  };
  return { calls, logs, log, send };
}

describe("EventAcks", () => {
  it("acknowledges the events processed close together with one request for the highest seq", async () => {
    const r = recorder();
    const acks = new EventAcks({ send: r.send, lost: () => false, log: r.log, delayMs: 50 });
    acks.note(3);
    acks.note(5);
    acks.note(4); // a re-sent, already processed event never moves the position back
    await waitUntil(() => r.calls.length > 0, "the acknowledgement");
    await sleep(150);
    expect(r.calls).toEqual([5]);
    acks.note(6);
    await waitUntil(() => r.calls.length > 1, "the next acknowledgement");
    expect(r.calls).toEqual([5, 6]);
  });

  it("flush sends what waits at once; nothing waiting sends nothing", async () => {
    const r = recorder();
    const acks = new EventAcks({ send: r.send, lost: () => false, log: r.log, delayMs: 60_000 });
    acks.flush();
    acks.note(2);
    acks.flush();
    expect(r.calls).toEqual([2]);
    await sleep(20);
    acks.flush();
    expect(r.calls).toEqual([2]);
  });

  it("a final flush (before shutdown) sends the latest seq beside a request still in flight", async () => {
    const r = recorder();
    let release: () => void = () => undefined;
    const send = (upTo: number) => (r.calls.length === 0 ? new Promise<void>((resolve) => (release = resolve)).finally(() => r.calls.push(upTo)) : r.send(upTo));
    const sent: number[] = [];
    const acks = new EventAcks({ send: (upTo) => (sent.push(upTo), send(upTo)), lost: () => false, log: r.log, delayMs: 10 });
    acks.note(1);
    await waitUntil(() => sent.length === 1, "the first request");
    acks.note(2);
    acks.flush();
    expect(sent).toEqual([1]); // waits for the one in flight
    acks.flush(true);
    expect(sent).toEqual([1, 2]);
    release();
    await sleep(50);
    expect(sent).toEqual([1, 2]);
  });

  it("an acknowledgement waiting when a message is sent rides on it; one the worker ignored gets its own request", async () => {
    const r = recorder();
    const acks = new EventAcks({ send: r.send, lost: () => false, log: r.log, delayMs: 50 });
    const carried: (number | undefined)[] = [];
    const enqueue = (answer: (upTo: number | undefined) => { lastAckedSeq?: number }) => (upTo: number | undefined) => {
      carried.push(upTo);
      return Promise.resolve(answer(upTo));
    };
    await acks.carry(enqueue((upTo) => (upTo === undefined ? {} : { lastAckedSeq: upTo })));
    acks.note(3);
    await acks.carry(enqueue((upTo) => (upTo === undefined ? {} : { lastAckedSeq: upTo })));
    await sleep(150);
    expect(carried).toEqual([undefined, 3]);
    expect(r.calls).toEqual([]);

    acks.note(4);
    await acks.carry(enqueue(() => ({}))); // a worker that does not know `ackUpTo`
    await waitUntil(() => r.calls.length > 0, "the acknowledgement's own request");
    expect(carried).toEqual([undefined, 3, 4]);
    expect(r.calls).toEqual([4]);
    // That worker is not asked to carry one again: its acknowledgements keep their own requests.
    acks.note(5);
    await acks.carry(enqueue(() => ({})));
    await waitUntil(() => r.calls.length > 1, "the next acknowledgement's own request");
    expect(carried).toEqual([undefined, 3, 4, undefined]);
    expect(r.calls).toEqual([4, 5]);
  });

  it("retries one the worker could not store, and stops when the worker is gone", async () => {
    const r = recorder((_, call) => (call === 1 ? new Error("EIO: injected") : null));
    const acks = new EventAcks({ send: r.send, lost: () => false, log: r.log, delayMs: 10 });
    acks.note(7);
    await waitUntil(() => r.calls.length === 2, "the retry", 10_000);
    expect(r.calls).toEqual([7, 7]);
    expect(r.logs.some((l) => l.msg === "ackEvents failed; retrying" && l.seq === 7)).toBe(true);

    const gone = recorder(() => new Error("worker gone"));
    const lost = new EventAcks({ send: gone.send, lost: () => true, log: gone.log, delayMs: 10 });
    lost.note(1);
    await waitUntil(() => gone.logs.some((l) => l.msg === "ackEvents failed (re-sent after a restart)"), "the give-up");
    await sleep(700); // a retry would have come after 500 ms
    expect(gone.calls).toEqual([1]);
  });
});

describe("acknowledgements through the supervisor", () => {
  it("the next message carries the waiting acknowledgement (no session/ackEvents), stored with it: a killed worker re-sends only what followed", async () => {
    const h = await createHarness({ recordRequests: true });
    try {
      const sup = h.supervisor();
      sup.start();
      await h.admit("a1.foreground", "one");
      sup.deliver();
      await waitUntil(() => h.store.processedSeq("a1.foreground") > 0, "reply to one processed");
      const first = h.store.processedSeq("a1.foreground");
      await h.admit("a1.foreground", "two");
      sup.deliver();
      await waitUntil(() => h.store.processedSeq("a1.foreground") > first, "reply to two processed");
      const second = h.store.processedSeq("a1.foreground");
      const sent = h.requests("a1.foreground");
      expect(sent.filter((f) => f.method === "session/enqueue").map((f) => f.params?.["ackUpTo"])).toEqual([undefined, first]);
      expect(sent.filter((f) => f.method === "session/ackEvents")).toEqual([]);

      process.kill(h.workerPid("a1.foreground"), "SIGKILL");
      await h.admit("a1.foreground", "three");
      sup.deliver();
      await waitUntil(() => h.store.processedSeq("a1.foreground") > second, "reply to three processed");
      const resent = h.logs.filter((l) => l.msg === "event already processed; acknowledged again").map((l) => l["seq"]);
      expect(resent).toContain(second); // turn two's reply was not acknowledged yet
      expect(resent.filter((seq) => typeof seq === "number" && seq <= first)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it("a graceful stop acknowledges what was processed: the next worker re-sends nothing", async () => {
    const h = await createHarness();
    try {
      const sup = h.supervisor();
      sup.start();
      for (const text of ["one", "two", "three"]) {
        const before = h.store.processedSeq("a1.foreground");
        await h.admit("a1.foreground", text);
        sup.deliver();
        // The reply is recorded while its commit is built; the seq is noted for acknowledgement once it is durable.
        await waitUntil(() => h.store.processedSeq("a1.foreground") > before, `reply to ${text} processed`);
      }
      const seq = h.store.processedSeq("a1.foreground");
      await sup.stop(5000);

      const again = h.supervisor();
      again.start();
      await h.admit("a1.foreground", "four");
      again.deliver();
      // The reply is recorded while its commit is built: wait for the commit, not only the record.
      await waitUntil(() => h.durableOf("turn_completed").length === 4 && h.store.processedSeq("a1.foreground") > seq, "reply to four processed");
      expect(h.logs.filter((l) => l.msg === "event already processed; acknowledged again")).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
