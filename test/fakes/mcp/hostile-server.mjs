// A misbehaving MCP server over stdio, raw JSON-RPC (one JSON per line), for adversarial tests.
// HOSTILE_MODE picks the misbehaviour; every mode answers initialize unless it says otherwise.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const mode = process.env.HOSTILE_MODE ?? "";
const send = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const obj = { type: "object", properties: {} };
const tool = (name, extra = {}) => ({ name, description: `tool ${name}`, inputSchema: obj, ...extra });

function tools() {
  switch (mode) {
    case "many":
      return Array.from({ length: 500 }, (_, i) => tool(`t${i}`));
    case "duplicates":
      return [tool("same"), tool("same"), tool("_echo"), tool("x".repeat(80))];
    default:
      return [tool("echo"), tool("crash"), tool("hang")];
  }
}

// HOSTILE_STARTS: a file that gets one line per start (tests count restart attempts with it).
if (process.env.HOSTILE_STARTS) appendFileSync(process.env.HOSTILE_STARTS, `${process.pid}\n`);
// HOSTILE_ONCE: a marker file; "no-newline" misbehaves only while it does not exist (it is created then).
const once = process.env.HOSTILE_ONCE;
const misbehaveOnce = () => !(once && existsSync(once)) && (once ? (writeFileSync(once, ""), true) : true);

if (mode === "exit-at-start") {
  process.stderr.write("fatal: HOSTILE_API_KEY is not set\n");
  process.exit(3);
}
if (mode === "garbage-first") process.stdout.write("Welcome to the hostile server v1.0!\nnot json {\n");

createInterface({ input: process.stdin }).on("line", (line) => {
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    return;
  }
  if (m.method === "initialize") {
    if (mode === "no-initialize") return;
    send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: { name: "hostile", version: "1" } } });
    return;
  }
  if (m.method === "notifications/initialized" && mode === "storm") {
    setInterval(() => { for (let i = 0; i < 50; i++) send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" }); }, 50);
  }
  if (m.method === "tools/list") {
    if (mode === "no-list") return;
    const page = Number(m.params?.cursor ?? 0);
    if (mode === "endless-pages") return send({ jsonrpc: "2.0", id: m.id, result: { tools: [tool(`p${page}`)], nextCursor: String(page + 1) } });
    return send({ jsonrpc: "2.0", id: m.id, result: { tools: tools() } });
  }
  if (m.method === "tools/call") {
    const name = m.params.name;
    if (name === "echo" || name === "_echo") {
      if (mode === "huge") return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "y".repeat(10_000_000) }] } });
      if (mode === "invalid-json") return process.stdout.write(`{"jsonrpc":"2.0","id":${m.id},"result":{"content":[{"type":"text","text":"oops"}\n`);
      if (mode === "no-newline" && misbehaveOnce()) { const chunk = "z".repeat(1 << 20); const t = setInterval(() => process.stdout.write(chunk), 5); setTimeout(() => clearInterval(t), 60_000); return; }
      return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: `echo ${JSON.stringify(m.params.arguments)}` }] } });
    }
    if (name === "crash") {
      // A grandchild in the same process group that keeps the server's stdout open, then the server dies.
      const child = spawn("sleep", ["300"], { stdio: ["ignore", "inherit", "inherit"] });
      if (process.env.HOSTILE_PIDFILE) writeFileSync(process.env.HOSTILE_PIDFILE, String(child.pid));
      setTimeout(() => process.exit(7), 100);
      return;
    }
    if (name === "hang") return; // never answers, ignores notifications/cancelled
  }
});

