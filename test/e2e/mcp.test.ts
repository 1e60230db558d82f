// MCP servers end to end through the real CLI: config mcp_servers → worker catalog → call → result,
// list_changed refresh, a server killed mid-call, a hanging tool (timeout, the turn goes on), /cancel
// during a call, a worker killed during a side-effecting call (outcome unknown, not re-run), a secret
// from the env file that never shows in results, requests or logs, /mcp and /status.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, requestText, startE2E, type E2E } from "./fixture.js";
import { runCliOnce } from "./host-harness.js";

const STDIO_SERVER = fileURLToPath(new URL("../fakes/mcp/stdio-server.mjs", import.meta.url));
const SECRET = "mcp-e2e-secret-5521-value";

/** Text of the tool results in the request (newest last). */
function toolResults(req: RecordedRequest): string[] {
  const body = req.body as { messages?: { role: string; content: unknown }[] };
  return (body.messages ?? []).filter((m) => m.role === "tool").map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)));
}
const toolNames = (req: RecordedRequest): string[] =>
  ((req.body as { tools?: { function: { name: string } }[] }).tools ?? []).map((t) => t.function.name);

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req).trim();
  const results = toolResults(req);
  const call = (name: string, args: Record<string, unknown> = {}): ScriptedReply => ({ toolCalls: [{ name, arguments: args }] });
  if (ask.endsWith("mcp echo")) {
    if (!afterTool(req)) return call("mcp__fake__echo", { text: "hello" });
    return { text: `tool said: ${results.at(-1)} | offered: ${toolNames(req).filter((n) => n.startsWith("mcp__fake__")).sort().join(",")}` };
  }
  if (ask.endsWith("mcp add")) {
    if (!afterTool(req)) return call("mcp__fake__add_tool");
    return { text: `extra offered: ${toolNames(req).includes("mcp__fake__extra")}` };
  }
  if (ask.endsWith("mcp die")) {
    if (results.length === 0 || !afterTool(req)) return call("mcp__fake__die");
    if (!requestText(req).includes("echo: after")) return call("mcp__fake__echo", { text: "after" });
    return { text: `die: ${results.at(-2)} || then: ${results.at(-1)}` };
  }
  if (ask.endsWith("mcp hang")) {
    if (!afterTool(req)) return call("mcp__quick__hang");
    return { text: `hang: ${results.at(-1)}` };
  }
  if (ask.endsWith("mcp slow")) return call("mcp__fake__slow", { ms: 60_000 });
  if (ask.endsWith("mcp note")) {
    if (!afterTool(req)) return call("mcp__fake__write_note", { text: "one note" });
    return { text: `note: ${results.at(-1)}` };
  }
  if (ask.endsWith("mcp secret")) {
    if (!afterTool(req)) return call("mcp__fake__secret");
    return { text: `secret: ${results.at(-1)}` };
  }
  return { text: "ok" };
}

let e2e: E2E;
let mcpLog: string;
const chat = privateChat(1101, "Mcp");
const events = () =>
  existsSync(mcpLog) ? readFileSync(mcpLog, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; tool: string }) : [];

beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    start: false,
    config: {
      adminUserIds: [chat.id],
      recovery: { max_auto_continues: 1 },
      extra: {
        mcp_servers: {
          fake: {
            command: process.execPath,
            args: [STDIO_SERVER],
            env: { MCP_LOG: "PLACEHOLDER", MCP_NOTE_WAIT_MS: "60000" },
            secret_env: { MCP_SECRET: "FAKE_MCP_TOKEN" },
          },
          quick: { command: process.execPath, args: [STDIO_SERVER], timeout_seconds: 1, tools: { allow: ["hang", "echo"] } },
        },
      },
    },
  });
  mcpLog = join(e2e.dir, "mcp-log.jsonl");
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as { mcp_servers: { fake: { env: Record<string, string> } } };
  config.mcp_servers.fake.env.MCP_LOG = mcpLog;
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  // The server's secret comes from the env file, as an operator would set it.
  writeFileSync(join(dirname(e2e.configPath), "starling.env"), `FAKE_MCP_TOKEN=${SECRET}\n`, { mode: 0o600 });
  e2e.start();
});
afterAll(async () => {
  await e2e?.close();
});

describe("MCP servers through the real CLI", () => {
  it("round trip: the model sees mcp__fake__* tools, calls one and gets its result", async () => {
    const answer = await e2e.ask(chat, "mcp echo", { timeoutMs: 40_000 });
    expect(answer).toMatch(/^tool said: echo: hello \| offered: /);
    expect(answer).toContain("mcp__fake__echo");
    expect(answer).not.toContain("bad_schema");
    const status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/MCP fake: connected, 10 tools, 1 skipped \(bad_schema: .*anyOf/);
    expect(status).toMatch(/MCP quick: connected, 2 tools/);
    const list = await e2e.ask(chat, "/mcp");
    expect(list).toContain("• quick (stdio): connected, 2 tools");
    expect(list).toContain("tools: mcp__quick__echo, mcp__quick__hang");
  });

  it("a tools/list_changed notification refreshes the catalog before the next model call", async () => {
    expect(await e2e.ask(chat, "mcp add", { timeoutMs: 30_000 })).toBe("extra offered: true");
  });

  it("a server killed mid-call: a clear tool error, and the next call restarts it", async () => {
    const answer = await e2e.ask(chat, "mcp die", { timeoutMs: 40_000 });
    expect(answer).toMatch(/^die: MCP server fake stopped during mcp__fake__die .*outcome is unknown.*\|\| then: echo: after$/s);
  });

  it("a hanging tool times out (MCP cancellation) and the turn goes on", async () => {
    const answer = await e2e.ask(chat, "mcp hang", { timeoutMs: 40_000 });
    expect(answer).toMatch(/^hang: mcp__quick__hang did not answer within 1 s and was cancelled/);
  });

  it("/cancel during an MCP call cancels it on the server", async () => {
    e2e.send(chat, "mcp slow");
    await e2e.until(() => events().some((e) => e.event === "call" && e.tool === "slow"), "the slow call to start", 30_000);
    expect(await e2e.ask(chat, "/cancel")).toMatch(/^Cancelled the running turn/);
    await e2e.until(() => events().some((e) => e.event === "cancelled" && e.tool === "slow"), "the server to see the cancellation");
  });

  it("a secret from the env file reaches the server but never a result, a model request or a log", async () => {
    const answer = await e2e.ask(chat, "mcp secret", { timeoutMs: 30_000 });
    expect(answer).toBe("secret: the secret is [redacted:FAKE_MCP_TOKEN] and the header is (none)");
    for (const req of e2e.model.requests) expect(JSON.stringify(req.body)).not.toContain(SECRET);
    const logs = join(e2e.workdir, "logs");
    for (const file of readdirSync(logs)) expect(readFileSync(join(logs, file), "utf8")).not.toContain(SECRET);
  });

  it("a worker killed during a side-effecting MCP call: recovered as outcome unknown, never re-run", async () => {
    const before = e2e.replies(chat.id).length;
    e2e.send(chat, "mcp note");
    await e2e.until(() => events().some((e) => e.event === "call" && e.tool === "write_note"), "write_note to start", 30_000);
    const workers = e2e.host!.workerPids();
    expect(workers.length).toBeGreaterThan(0);
    for (const pid of workers) process.kill(pid, "SIGKILL");
    const reply = await e2e.until(() => e2e.replies(chat.id).slice(before).find((m) => (m.text ?? "").startsWith("note: ")), "the recovered answer", 40_000);
    expect(reply.text).toMatch(/^note: Interrupted by a crash; outcome unknown/);
    const workspace = readdirSync(join(e2e.workdir, "conversations")).map((d) => join(e2e.workdir, "conversations", d)).find((d) => existsSync(join(d, "notes.txt")));
    expect(readFileSync(join(workspace!, "notes.txt"), "utf8")).toBe("one note\n");
  });

  it("/mcp disable takes a server out of this conversation", async () => {
    expect(await e2e.ask(chat, "/mcp disable quick")).toBe("MCP server quick disabled for this conversation. It applies from now on.");
    const answer = await e2e.ask(chat, "mcp echo", { timeoutMs: 40_000 });
    expect(answer).toContain("mcp__fake__echo");
    expect(await e2e.ask(chat, "/mcp")).toContain("• quick (stdio): disabled");
  });

  it("starling doctor connects to each server and shows its tools; a missing secret is named", async () => {
    const doctor = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", join(e2e.dir, "doctor-workdir")], { FAKE_TELEGRAM_TOKEN: e2e.env.FAKE_TELEGRAM_TOKEN! }, { timeoutMs: 40_000 });
    expect(doctor.output).toMatch(/^ok\s+mcp fake: connected, 11 tools \(subprocess mode: started unsandboxed, as your user\)$/m);
    expect(doctor.output).toMatch(/^ok\s+mcp quick: connected, 11 tools \(subprocess mode: started unsandboxed, as your user\)$/m);
    expect(doctor.output).not.toContain(SECRET);
    writeFileSync(join(dirname(e2e.configPath), "starling.env"), "", { mode: 0o600 });
    const missing = await runCliOnce(["doctor", "--config", e2e.configPath, "--workdir", join(e2e.dir, "doctor-workdir")], {}, { timeoutMs: 40_000 });
    expect(missing.output).toMatch(/^FAIL\s+mcp fake: FAKE_MCP_TOKEN not set/m);
  }, 90_000);
});
