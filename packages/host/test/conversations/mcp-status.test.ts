import { describe, expect, it } from "vitest";
import { mcpStatusLines } from "../../src/conversations/mcp-command.js";

describe("mcpStatusLines", () => {
  it("groups skipped tools by reason and shows at most 30 names per reason", () => {
    const limit = "over the limit of 128 tools in all (40 built-in, 88 left for MCP servers, filled in config order); list the tools this server should offer in its tools.allow";
    const skipped = [
      { tool: "bad", reason: "its input schema uses anyOf at the top level, which model APIs refuse" },
      ...Array.from({ length: 412 }, (_, i) => ({ tool: `t${88 + i}`, reason: limit })),
    ];
    const [line] = mcpStatusLines({ mcp: [{ name: "big", transport: "stdio", state: "connected", tools: [], skipped, lastError: null, restarts: 0 }] } as never);
    const names = Array.from({ length: 30 }, (_, i) => `t${88 + i}`).join(", ");
    expect(line).toBe(`MCP big: connected, 0 tools, 413 skipped (bad: its input schema uses anyOf at the top level, which model APIs refuse; ${names} and 382 more: ${limit})`);
  });
});
