import { z } from "zod";

/** Restarts of a worker that exits unexpectedly: capped exponential backoff, then give up. */
export interface RestartPolicy {
  /** Delay before the first restart after progress (a crash, or a failed start, after a life that ran; default: `initialDelayMs`). */
  firstDelayMs?: number;
  /** Base of the backoff: restart number n (n ≥ 2) waits initial · factor^(n-1). */
  initialDelayMs: number;
  /** The delay is multiplied by this per consecutive failure, up to `maxDelayMs`. */
  factor: number;
  /** Cap of the delay. */
  maxDelayMs: number;
  /** Consecutive failures (crashes or failed starts without progress in between) before giving up. */
  maxAttempts: number;
}

/**
 * The first restart at once (a single crash costs the user only the worker start: the database lock
 * went with the dead process, and a warm spare is usually waiting), then 75, 225, 675 ms, 2 s, 6 s,
 * 18 s, 30 s — a crash loop still backs off to the cap and gives up after 8 failures, about a minute
 * after the first.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { firstDelayMs: 0, initialDelayMs: 25, factor: 3, maxDelayMs: 30_000, maxAttempts: 8 };

/** The default policy with `overrides`; an explicit `initialDelayMs` also sets the first delay unless `firstDelayMs` is given. */
export function restartPolicy(overrides: Partial<RestartPolicy> | undefined): RestartPolicy {
  const policy = { ...DEFAULT_RESTART_POLICY, ...overrides };
  if (overrides?.initialDelayMs !== undefined && overrides.firstDelayMs === undefined) policy.firstDelayMs = overrides.initialDelayMs;
  return policy;
}

/** Delay before retry number `attempt` (1-based): initial · factor^(attempt-1), capped. */
export function backoffDelay(policy: RestartPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.min(exponent, 30));
}

/** Delay before worker restart number `attempt` (1-based): `firstDelayMs` for the first, else `backoffDelay`. */
export function restartDelay(policy: RestartPolicy, attempt: number): number {
  return attempt <= 1 && policy.firstDelayMs !== undefined ? Math.min(policy.maxDelayMs, policy.firstDelayMs) : backoffDelay(policy, attempt);
}

/**
 * Test-only: `STARLING_TEST_RESTART_POLICY` (JSON with any fields of RestartPolicy, e.g.
 * `{"maxAttempts":3,"initialDelayMs":20}`) overrides the restart policy of a host, so an end-to-end test
 * can drive a session into giving up without the default minute of backoff. Not a setting: the
 * default suits users (docs/ARCHITECTURE.md §2, test/e2e/giveup.test.ts).
 */
export const RESTART_POLICY_ENV = "STARLING_TEST_RESTART_POLICY";

const delayMs = z.int().min(0).max(3_600_000);
const RestartOverrides = z
  .strictObject({ firstDelayMs: delayMs, initialDelayMs: delayMs, factor: z.number().min(1).max(100), maxDelayMs: delayMs, maxAttempts: z.int().min(1).max(1000) })
  .partial();

/** The overrides `STARLING_TEST_RESTART_POLICY` names, undefined when unset; a bad value throws, naming the problem. */
export function restartPolicyFromEnv(env: NodeJS.ProcessEnv): Partial<RestartPolicy> | undefined {
  const raw = env[RESTART_POLICY_ENV];
  if (raw === undefined || raw === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${RESTART_POLICY_ENV} is not JSON (${JSON.stringify(raw)}); give e.g. {"maxAttempts":3,"initialDelayMs":20}, or unset it`);
  }
  const parsed = RestartOverrides.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`).join("; ");
    throw new Error(`${RESTART_POLICY_ENV} is invalid (${problems}); give e.g. {"maxAttempts":3,"initialDelayMs":20}, or unset it`);
  }
  return parsed.data;
}
