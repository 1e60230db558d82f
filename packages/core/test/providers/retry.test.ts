import { describe, expect, it } from "vitest";
import { ProviderError, retryDelayMs, withRetries, type RetryNotice } from "../../src/providers/index.js";

describe("withRetries", () => {
  it("retries retryable errors up to the budget and rethrows the last one", async () => {
    let calls = 0;
    const notices: RetryNotice[] = [];
    const task = withRetries(
      async () => {
        calls++;
        throw new ProviderError("network", `boom ${calls}`);
      },
      { signal: new AbortController().signal, retryMode: { random_interval: { max_interval_secs: 0, max_retries: 3 } }, onRetry: (n) => notices.push(n) },
    );
    await expect(task).rejects.toThrow("boom 4");
    expect(calls).toBe(4);
    expect(notices.map((n) => n.attempt)).toEqual([1, 2, 3]);
  });

  it('makes a single attempt with retry_mode "once" and one retry when no mode is set', async () => {
    for (const [retryMode, expected] of [["once", 1], [undefined, 2]] as const) {
      let calls = 0;
      const task = withRetries(
        async () => {
          calls++;
          throw new ProviderError("rate_limited", "slow down", { retryAfterMs: 1 });
        },
        { signal: new AbortController().signal, retryMode },
      );
      await expect(task).rejects.toMatchObject({ kind: "rate_limited" });
      expect(calls).toBe(expected);
    }
  });

  it("does not retry non-retryable kinds", async () => {
    let calls = 0;
    const task = withRetries(
      async () => {
        calls++;
        throw new ProviderError("auth", "no");
      },
      { signal: new AbortController().signal },
    );
    await expect(task).rejects.toMatchObject({ kind: "auth" });
    expect(calls).toBe(1);
  });

  it("aborts during the retry sleep with kind aborted", async () => {
    const controller = new AbortController();
    const task = withRetries(
      async () => {
        throw new ProviderError("server", "down", { retryAfterMs: 60_000 });
      },
      { signal: controller.signal, onRetry: () => setTimeout(() => controller.abort(), 10) },
    );
    await expect(task).rejects.toMatchObject({ kind: "aborted" });
  });

  it("does not wait out a retry-after beyond the cap", async () => {
    let calls = 0;
    const task = withRetries(
      async () => {
        calls++;
        throw new ProviderError("rate_limited", "later", { retryAfterMs: 3_600_000 });
      },
      { signal: new AbortController().signal },
    );
    await expect(task).rejects.toMatchObject({ kind: "rate_limited" });
    expect(calls).toBe(1);
  });

  it("computes delays per mode", () => {
    const mode = { random_interval: { max_interval_secs: 4, max_retries: 2 } };
    expect(retryDelayMs(mode, undefined, () => 0.99)).toBe(4000);
    expect(retryDelayMs(mode, undefined, () => 0)).toBe(0);
    expect(retryDelayMs(mode, 7000, () => 0)).toBe(7000);
    expect(retryDelayMs(undefined, undefined, () => 0)).toBe(1000);
    expect(retryDelayMs(undefined, 2500, () => 0)).toBe(2500);
  });
});
