#!/usr/bin/env node
// The fake MCP server over stdio (test/fakes/mcp/fake-mcp-server.mjs); run with `node stdio-server.mjs`.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createFakeMcpServer } from "./fake-mcp-server.mjs";

process.stderr.write(`fake mcp server ${process.pid} starting\n`);
await createFakeMcpServer().connect(new StdioServerTransport());
process.stdin.on("end", () => process.exit(0));
