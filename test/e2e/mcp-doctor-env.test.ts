// `starling doctor` starts each stdio MCP server to list its tools. The server's environment must be what the
// host gives it (docs/SECURITY.md "MCP servers"): the allowlist, its `env` and its own secrets, never a model key
// or bot token, also one whose variable name the allowlist would pass (STARLING_*).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliOnce } from "./host-harness.js";
import { startE2E, type E2E } from "./fixture.js";

const PYTHON = "/usr/bin/python3";
const SERVER = fileURLToPath(new URL("../fixtures/mcp-probe-server.py", import.meta.url));
const MODEL_KEY = "doctor-model-key-6620-value";
const OWN_SECRET = "doctor-server-secret-3398-value";
const OTHER_SECRET = "doctor-other-secret-5127-value";

let e2e: E2E;
beforeAll(async () => {
  if (!existsSync(PYTHON)) return;
  e2e = await startE2E({ responder: () => ({ text: "unused" }), start: false });
  copyFileSync(SERVER, join(e2e.dir, "mcp-probe-server.py"));
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  config.models.main.api_key_env = "STARLING_DOCTOR_MODEL_KEY";
  const server = (name: string, secret: string) => ({
    command: PYTHON,
    args: [join(e2e.dir, "mcp-probe-server.py")],
    env: { PROBE_ENV_FILE: join(e2e.dir, `${name}-env.json`) },
    secret_env: { SERVER_SECRET: secret },
  });
  config.mcp_servers = { probe: server("probe", "STARLING_PROBE_SECRET"), other: server("other", "STARLING_OTHER_SECRET") };
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
});
afterAll(async () => {
  await e2e?.close();
});

describe.skipIf(!existsSync(PYTHON))("starling doctor and stdio MCP servers", () => {
  it("a server started by doctor gets its own secret and no other: no model key, no bot token, no other server's secret", async () => {
    const env = { FAKE_TELEGRAM_TOKEN: e2e.telegram.token, STARLING_DOCTOR_MODEL_KEY: MODEL_KEY, STARLING_PROBE_SECRET: OWN_SECRET, STARLING_OTHER_SECRET: OTHER_SECRET };
    const doctor = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", join(e2e.dir, "doctor-workdir")], env, { timeoutMs: 40_000 });
    expect(doctor.output).toMatch(/^ok\s+mcp probe: connected, 1 tools \(subprocess mode: started unsandboxed, as your user\)$/m);
    const seen = JSON.parse(readFileSync(join(e2e.dir, "probe-env.json"), "utf8")) as Record<string, string>;
    expect(seen.SERVER_SECRET).toBe(OWN_SECRET);
    const others = Object.entries(seen).filter(([name]) => name !== "SERVER_SECRET");
    for (const value of [MODEL_KEY, OTHER_SECRET, OWN_SECRET, e2e.telegram.token]) {
      expect(others.filter(([, v]) => v.includes(value)).map(([name]) => name), `a variable holding ${value}`).toEqual([]);
    }
  }, 60_000);
});
