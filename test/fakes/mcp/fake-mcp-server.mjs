// A small MCP server for tests, built with the SDK's server side (low-level Server, so tests control
// schemas and list_changed exactly). Every call and cancellation is appended to $MCP_LOG (one JSON per line).
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

const text = (t) => ({ content: [{ type: "text", text: t }] });
const obj = (properties, required = Object.keys(properties)) => ({ type: "object", properties, required });

/** The tools; `extra` appears after `add_tool` is called (with notifications/tools/list_changed). */
function toolList(state) {
  const tools = [
    { name: "echo", description: "Echo the text back", inputSchema: obj({ text: { type: "string" } }), annotations: { readOnlyHint: true } },
    { name: "write_note", description: "Append a note to notes.txt (side effect)", inputSchema: obj({ text: { type: "string" } }) },
    { name: "slow", description: "Wait ms milliseconds, then answer", inputSchema: obj({ ms: { type: "number" } }) },
    { name: "hang", description: "Never answers", inputSchema: obj({}) },
    { name: "die", description: "The server process dies during the call", inputSchema: obj({}) },
    { name: "secret", description: "Returns the secret the server got", inputSchema: obj({}), annotations: { readOnlyHint: true } },
    { name: "image", description: "Returns a 1x1 PNG", inputSchema: obj({}), annotations: { readOnlyHint: true } },
    { name: "env_names", description: "Names of the server's environment variables", inputSchema: obj({}), annotations: { readOnlyHint: true } },
    { name: "fail", description: "Always reports an error", inputSchema: obj({}) },
    { name: "add_tool", description: "Adds the tool extra", inputSchema: obj({}) },
    { name: "bad_schema", description: "Schema the model API cannot take", inputSchema: { type: "object", anyOf: [{ required: ["a"] }, { required: ["b"] }] } },
  ];
  // MCP_BULK_TOOLS=<n>: n more tools with long descriptions and schemas, a toolset as big as real servers bring.
  for (let i = 0; i < Number(process.env.MCP_BULK_TOOLS ?? 0); i++) {
    const words = `Tool ${i} of the bulk set: looks up records in the inventory by several criteria and returns them. `.repeat(4);
    tools.push({ name: `bulk_${i}`, description: words, inputSchema: obj({ query: { type: "string", description: words }, limit: { type: "number" } }, ["query"]) });
  }
  if (process.env.MCP_EXTRA_TOOLS) {
    tools.push({ name: "daemon", description: "Starts a process in a new session (setsid) that outlives the call; answers its pid", inputSchema: obj({}) });
    tools.push({ name: "stubborn", description: "Ignores cancellation; answers after 60 s", inputSchema: obj({}) });
  }
  if (state.extra) tools.push({ name: "extra", description: "Added later", inputSchema: obj({}), annotations: { readOnlyHint: true } });
  return tools;
}

export function createFakeMcpServer(log = process.env.MCP_LOG) {
  const record = (entry) => log && appendFileSync(log, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
  const state = { extra: false };
  const server = new Server({ name: "fake-mcp", version: "1.0.0" }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: toolList(state) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {} } = request.params;
    record({ event: "call", tool: name, args });
    extra.signal.addEventListener("abort", () => record({ event: "cancelled", tool: name }));
    const wait = (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()));
      });
    switch (name) {
      case "echo":
        return text(`echo: ${args.text}`);
      case "write_note":
        appendFileSync("notes.txt", `${args.text}\n`);
        if (process.env.MCP_NOTE_WAIT_MS) await wait(Number(process.env.MCP_NOTE_WAIT_MS));
        return text("noted");
      case "slow":
        await wait(args.ms);
        return text(extra.signal.aborted ? "aborted" : `waited ${args.ms} ms`);
      case "hang":
        await wait(3_600_000);
        return text("never");
      case "die":
        setTimeout(() => process.kill(process.pid, "SIGKILL"), 50);
        await wait(3_600_000);
        return text("never");
      case "secret":
        return text(`the secret is ${process.env.MCP_SECRET ?? "(unset)"} and the header is ${extra.requestInfo?.headers?.authorization ?? "(none)"}`);
      case "image":
        return { content: [{ type: "text", text: "a pixel" }, { type: "image", data: PNG_1X1, mimeType: "image/png" }] };
      case "env_names":
        return text(Object.keys(process.env).sort().join(","));
      case "daemon": {
        const child = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
        child.unref();
        return text(String(child.pid));
      }
      case "stubborn":
        await new Promise((resolve) => setTimeout(resolve, 60_000));
        return text("done at last");
      case "fail":
        return { content: [{ type: "text", text: "the database is locked" }], isError: true };
      case "add_tool":
        state.extra = true;
        await server.sendToolListChanged();
        return text("added extra");
      case "extra":
        return text("extra works");
      default:
        return { content: [{ type: "text", text: `unknown tool ${name}` }], isError: true };
    }
  });
  return server;
}
