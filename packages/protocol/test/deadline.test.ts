import { describe, expect, it } from "vitest";
import { deadline } from "../src/deadline.js";

describe("deadline", () => {
  it("aborts after its time and says it timed out", async () => {
    const limit = deadline(undefined, 20);
    await new Promise((r) => limit.signal.addEventListener("abort", r, { once: true }));
    expect(limit.timedOut).toBe(true);
    expect((limit.signal.reason as Error).name).toBe("TimeoutError");
  });

  it("aborts with its parent's reason, not as a timeout", () => {
    const parent = new AbortController();
    const limit = deadline(parent.signal, 10_000);
    parent.abort(new Error("cancelled by the user"));
    expect(limit.signal.aborted).toBe(true);
    expect(limit.timedOut).toBe(false);
    expect((limit.signal.reason as Error).message).toBe("cancelled by the user");
    limit.dispose();
  });

  it("starts aborted under an aborted parent, and a disposed deadline never fires", async () => {
    const parent = new AbortController();
    parent.abort();
    expect(deadline(parent.signal, 10_000).signal.aborted).toBe(true);
    const limit = deadline(undefined, 10);
    limit.dispose();
    await new Promise((r) => setTimeout(r, 40));
    expect(limit.signal.aborted).toBe(false);
  });
});
