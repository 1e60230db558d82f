// The worker's environment: the allowlist only, with the host's NODE_EXTRA_CA_CERTS handed on as
// STARLING_EXTRA_CA_CERTS (read by the worker on its first https call, not at every start), and
// NODE_OPTIONS without the options that load code or open the inspector.
import { describe, expect, it } from "vitest";
import type { HostSettings } from "../../src/conversations/settings.js";
import { workerEnvironment } from "../../src/security/worker-security.js";

const settings = { secrets: { BOT_TOKEN: "123456:very-secret-bot-token" }, workerEnv: {} } as unknown as HostSettings;

describe("workerEnvironment", () => {
  it("hands the host's NODE_EXTRA_CA_CERTS on as STARLING_EXTRA_CA_CERTS, never NODE_EXTRA_CA_CERTS itself", () => {
    const env = workerEnvironment(settings, { PATH: "/usr/bin", NODE_EXTRA_CA_CERTS: "/etc/company-ca.pem", BOT_TOKEN: "123456:very-secret-bot-token", OTHER: "x" });
    expect(env.STARLING_EXTRA_CA_CERTS).toBe("/etc/company-ca.pem");
    expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
    expect(env.BOT_TOKEN).toBeUndefined();
    expect(env.OTHER).toBeUndefined();
    expect(env.PATH).toBe("/usr/bin");
  });

  it("an explicit STARLING_EXTRA_CA_CERTS wins; with neither set there is none", () => {
    expect(workerEnvironment(settings, { NODE_EXTRA_CA_CERTS: "/a.pem", STARLING_EXTRA_CA_CERTS: "/b.pem" }).STARLING_EXTRA_CA_CERTS).toBe("/b.pem");
    expect("STARLING_EXTRA_CA_CERTS" in workerEnvironment(settings, { PATH: "/usr/bin" })).toBe(false);
  });
});

describe("workerEnvironment NODE_OPTIONS", () => {
  it("goes on without code-loading and inspector options; none left removes the variable", () => {
    expect(workerEnvironment(settings, { NODE_OPTIONS: "--require ./banner.cjs --max-old-space-size=512 --inspect" }).NODE_OPTIONS).toBe("--max-old-space-size=512");
    expect("NODE_OPTIONS" in workerEnvironment(settings, { NODE_OPTIONS: `-r "/my dir/p.cjs" --import=x.mjs` })).toBe(false);
    expect(workerEnvironment(settings, { NODE_OPTIONS: "--max-old-space-size=512" }).NODE_OPTIONS).toBe("--max-old-space-size=512");
  });
});
