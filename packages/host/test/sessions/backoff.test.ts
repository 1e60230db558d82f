// The worker restart schedule: the first restart after progress at once, then backing off to the cap.
import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RESTART_POLICY, restartDelay, restartPolicy, restartPolicyFromEnv } from "../../src/sessions/backoff.js";

describe("restart delays", () => {
  it("restarts at once after the first crash, then backs off ×3 up to the cap, and gives up after 8 failures about a minute in", () => {
    const policy = restartPolicy(undefined);
    const delays = Array.from({ length: policy.maxAttempts }, (_, i) => restartDelay(policy, i + 1));
    expect(delays).toEqual([0, 75, 225, 675, 2025, 6075, 18225, 30000]);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThan(55_000);
  });

  it("an explicit initialDelayMs also delays the first restart (unless firstDelayMs is given)", () => {
    expect(restartDelay(restartPolicy({ initialDelayMs: 300 }), 1)).toBe(300);
    expect(restartDelay(restartPolicy({ initialDelayMs: 300, firstDelayMs: 5 }), 1)).toBe(5);
    expect(restartDelay(restartPolicy({ maxDelayMs: 1000 }), 1)).toBe(0);
  });

  it("other retries (a failed hand-off) keep the plain backoff, starting at initialDelayMs", () => {
    expect(backoffDelay(DEFAULT_RESTART_POLICY, 1)).toBe(25);
    expect(backoffDelay(DEFAULT_RESTART_POLICY, 2)).toBe(75);
  });
});

describe("STARLING_TEST_RESTART_POLICY (test-only)", () => {
  it("overrides the fields it names; unset or empty leaves the default", () => {
    expect(restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: '{"maxAttempts":3,"initialDelayMs":20}' })).toEqual({ maxAttempts: 3, initialDelayMs: 20 });
    expect(restartPolicyFromEnv({})).toBeUndefined();
    expect(restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: "" })).toBeUndefined();
  });

  it("refuses a bad value, naming the variable and the problem", () => {
    expect(() => restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: "3" })).toThrow(/STARLING_TEST_RESTART_POLICY is invalid \(value: .*object/);
    expect(() => restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: "{maxAttempts:3}" })).toThrow(/STARLING_TEST_RESTART_POLICY is not JSON/);
    expect(() => restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: '{"maxAttempts":0}' })).toThrow(/maxAttempts: .*>=1/);
    expect(() => restartPolicyFromEnv({ STARLING_TEST_RESTART_POLICY: '{"maxAtempts":3}' })).toThrow(/maxAtempts/);
  });
});
