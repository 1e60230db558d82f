// `starling doctor` in bubblewrap mode starts each stdio MCP server as a conversation's worker would: inside
// bwrap (docs/SECURITY.md "MCP servers"). The server script sits in shared/, where the agent can write, so a
// server doctor ran unsandboxed would be code the agent planted running with the operator's file access. The
// probe server (test/fixtures/mcp-probe-server.py) looks at start for the config and env file and at the PID
// namespace it is in, and writes what it found to shared/ (doctor shows only the tool count).
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeBubblewrap } from "@starling/protocol";
import { runCliOnce } from "./host-harness.js";
import { startE2E, type E2E } from "./fixture.js";

const PYTHON = "/usr/bin/python3";
const bwrap = await probeBubblewrap("bwrap");
// The server's interpreter must be inside the sandbox: system folders only.
const noPython = existsSync(PYTHON) ? null : `${PYTHON} is missing (the probe server needs a system python)`;
const skip = noPython ?? (bwrap.ok ? null : `bubblewrap cannot run: ${bwrap.problem}`);
if (skip) console.warn(`doctor-under-bubblewrap tests skipped: ${skip}`);

const SERVER = fileURLToPath(new URL("../fixtures/mcp-probe-server.py", import.meta.url));
const SERVER_SECRET = "doctor-bwrap-server-secret-2291-value";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

interface Report {
  pid: number;
  files: Record<string, string>;
  visible_pids: number[];
  own_secret_sha256: string | null;
}

let e2e: E2E;
let workdir: string;
let shared: string;
let envFile: string;
let report: string;

/** Writes the config with the probe server in shared/ and `sandbox`, runs doctor, returns its output. */
async function doctor(sandbox: Record<string, unknown>): Promise<string> {
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  config.sandbox = sandbox;
  const paths = [e2e.configPath, envFile];
  config.mcp_servers = {
    probe: {
      command: PYTHON,
      args: [join(shared, "mcp-probe-server.py")],
      env: { PROBE_START_REPORT: report, PROBE_START_ARGS: JSON.stringify({ paths, own_secret_var: "SERVER_SECRET" }) },
      secret_env: { SERVER_SECRET: "STARLING_DOCTOR_PROBE_SECRET" },
    },
  };
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  rmSync(report, { force: true });
  const run = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", workdir], { FAKE_TELEGRAM_TOKEN: e2e.telegram.token }, { timeoutMs: 40_000 });
  return run.output;
}

beforeAll(async () => {
  if (noPython) return;
  e2e = await startE2E({ responder: () => ({ text: "unused" }), start: false });
  workdir = join(e2e.dir, "doctor-workdir");
  shared = join(workdir, "rundir", "shared");
  mkdirSync(shared, { recursive: true });
  copyFileSync(SERVER, join(shared, "mcp-probe-server.py"));
  report = join(shared, "probe-report.json");
  // The env file doctor reads by default (next to the config), holding the server's secret.
  envFile = join(e2e.dir, "starling.env");
  writeFileSync(envFile, `STARLING_DOCTOR_PROBE_SECRET=${SERVER_SECRET}\n`);
  chmodSync(envFile, 0o600);
});
afterAll(async () => {
  await e2e?.close();
});

describe.skipIf(!!skip)("starling doctor starts stdio MCP servers inside bubblewrap", () => {
  it("lists the tools of a server kept in shared/, which could read neither the env file nor the config and saw only its own PID namespace", async () => {
    const output = await doctor({ mode: "bubblewrap", bubblewrap_binary: "bwrap" });
    const seen = JSON.parse(readFileSync(report, "utf8")) as Report;
    // Both files are readable here, outside the sandbox.
    expect(readFileSync(envFile, "utf8")).toContain(SERVER_SECRET);
    expect(seen.files[envFile]).toMatch(/^FileNotFoundError/);
    expect(seen.files[e2e.configPath]).toMatch(/^FileNotFoundError/);
    // Its own PID namespace: bwrap's init and the server, nothing of the operator's.
    expect(seen.visible_pids.length, JSON.stringify(seen.visible_pids)).toBeLessThanOrEqual(3);
    expect(seen.pid).toBeLessThanOrEqual(3);
    // And it still got its own secret, as in a conversation.
    expect(seen.own_secret_sha256).toBe(sha256(SERVER_SECRET));
    expect(output).toMatch(/^ok\s+mcp probe: connected, 1 tools \(started in the bubblewrap sandbox\)$/m);
  }, 60_000);
});

describe.skipIf(!!noPython)("starling doctor when bubblewrap cannot run", () => {
  it("says so for the stdio server and does not start it outside the sandbox", async () => {
    const output = await doctor({ mode: "bubblewrap", bubblewrap_binary: join(e2e.dir, "no-such-bwrap") });
    expect(output).toMatch(/^FAIL\s+mcp probe: not started: conversations run it only inside the bubblewrap sandbox, which cannot start here \(.*no-such-bwrap was not found/m);
    expect(existsSync(report)).toBe(false);
  }, 60_000);
});
