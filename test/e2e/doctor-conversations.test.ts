// `starling doctor` checks every sandbox mode in use, not only the config's: conversations switched with
// `/sandbox` (stored in their records) are named, and their mode is checked too (bwrap really run, or the
// subprocess warning). It reads them while the host runs (the host database's lock held), and runs bwrap
// once per run, however many checks need it (stdio MCP servers, a mode in use). The bwrap here is a wrapper
// that logs each run before it execs the real one.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeBubblewrap } from "@starling/protocol";
import { privateChat } from "../fakes/telegram-api.js";
import { runCliOnce } from "./host-harness.js";
import { startE2E, type E2E } from "./fixture.js";

const bwrap = await probeBubblewrap("bwrap");
if (!bwrap.ok) console.warn(`doctor-conversations tests skipped: ${bwrap.problem}`);

const chats = { boxed: privateChat(501, "Boxed"), plain: privateChat(502, "Plain") };
let e2e: E2E;
let runs: string;

/** The bwrap probes the wrapper saw since the log was last cleared (tool processes and MCP servers are other runs). */
const probes = (): number =>
  existsSync(runs) ? readFileSync(runs, "utf8").split("\n").filter((line) => line.includes("--ro-bind / / --proc /proc --dev /dev -- /bin/sh -c exit 0")).length : 0;

function writeSandbox(sandbox: Record<string, unknown>, mcp: boolean): void {
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  config.sandbox = { bubblewrap_binary: join(e2e.dir, "bwrap-logged"), ...sandbox };
  // A stdio server: doctor probes bwrap before starting it in bubblewrap mode (it then fails to answer: no matter).
  // It exits at once, so doctor's first write may meet a closed pipe (EPIPE crashed doctor once in a CI rehearsal).
  config.mcp_servers = mcp ? { dummy: { command: "/bin/sh", args: ["-c", "exit 3"] } } : {};
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
}

async function doctor(): Promise<string> {
  writeFileSync(runs, "");
  const run = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", e2e.workdir], { FAKE_TELEGRAM_TOKEN: e2e.telegram.token }, { timeoutMs: 40_000 });
  return run.output;
}

beforeAll(async () => {
  if (!bwrap.ok) return;
  e2e = await startE2E({ responder: () => ({ text: "fine" }), start: false, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
  runs = join(e2e.dir, "bwrap-runs.log");
  const wrapper = join(e2e.dir, "bwrap-logged");
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${runs}\nexec bwrap "$@"\n`);
  chmodSync(wrapper, 0o755);
  writeSandbox({ mode: "subprocess" }, false);
  e2e.start();
  expect(await e2e.ask(chats.boxed, "/sandbox bubblewrap")).toMatch(/Sandbox set to bubblewrap/);
  expect(await e2e.ask(chats.plain, "/sandbox subprocess")).toMatch(/Sandbox set to subprocess/);
});

afterAll(async () => {
  await e2e?.close();
});

describe.skipIf(!bwrap.ok)("starling doctor and the conversations' /sandbox modes", { timeout: 90_000 }, () => {
  it("config subprocess: names the conversation switched to bubblewrap and checks that bwrap works, while the host runs", async () => {
    const output = await doctor();
    expect(output).toMatch(/^warn\s+sandbox: subprocess mode is for trusted use/m);
    expect(output).toMatch(/^ok\s+sandbox bubblewrap: 1 conversation switched to bubblewrap with \/sandbox \([^)]+\): bubblewrap works/m);
    // The conversation set to subprocess, the config's mode, is not named.
    expect(output).not.toMatch(/switched to subprocess/);
    expect(probes()).toBe(1);
  });

  it("config bubblewrap with a stdio MCP server: bwrap is run once; the conversation switched to subprocess gets the warning", async () => {
    writeSandbox({ mode: "bubblewrap" }, true);
    const output = await doctor();
    // The MCP check and the sandbox check both need it (before: once each).
    expect(probes()).toBe(1);
    expect(output).toMatch(/^ok\s+sandbox: bubblewrap works/m);
    expect(output).toMatch(/^warn\s+sandbox subprocess: 1 conversation switched to subprocess with \/sandbox \([^)]+\): subprocess mode is for trusted use/m);
    expect(output).toMatch(/next: \/sandbox bubblewrap in those conversations/);
    expect(output).toMatch(/^(FAIL|warn)\s+mcp dummy: cannot connect/m);
  });
});
