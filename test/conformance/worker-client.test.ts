// WorkerClient (the host's side of the pipe) against the real worker: requests that outlive the worker
// fail as "worker gone", and answered requests leave nothing behind in the host for the worker's life.
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { spawnWorker, WorkerGoneError, WorkerRequestError, type WorkerClient } from "@starling/protocol";
import { WORKER_MAIN } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const start = (): WorkerClient => spawnWorker({ command: [process.execPath, WORKER_MAIN], stderr: "ignore" });
/** What the host treats as "the worker went away" (WorkerHandle.lostBy). */
const isGone = (err: unknown): boolean =>
  err instanceof WorkerGoneError || (err instanceof WorkerRequestError && err.code >= -32099 && err.code <= -32096);

describe("WorkerClient", () => {
  it("keeps no host memory per answered request while the worker lives", async () => {
    const client = start();
    try {
      const ask = () => client.raw("session/query", { what: "live_state" }).catch(() => undefined);
      for (let i = 0; i < 200; i++) await ask();
      gc();
      const before = process.memoryUsage().heapUsed;
      const n = 2000;
      for (let i = 0; i < n; i++) await ask();
      gc();
      // Each request used to leave a reaction on the client's `exited` promise holding its params (~1.6 kB).
      expect((process.memoryUsage().heapUsed - before) / n).toBeLessThan(300);
    } finally {
      client.kill();
      await client.exited;
    }
  });

  it("fails a request the worker dies during, and any request after, as the worker gone", async () => {
    const client = start();
    await client.raw("session/query", { what: "live_state" }).catch(() => undefined);
    const pending = client.raw("session/query", { what: "live_state" });
    client.kill("SIGKILL");
    const err = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    // Answered before the kill landed is possible too; otherwise the failure says the worker is gone.
    if (err !== null) expect(isGone(err), String(err)).toBe(true);
    expect((await client.exited).signal).toBe("SIGKILL");
    await expect(client.raw("session/query", { what: "live_state" })).rejects.toThrow(/worker exited before session\/query/);
  });
});
