import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { ENV, FIXTURES } from "./helpers.js";

function configWithMcp(servers: unknown): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(join(FIXTURES, "stellaclaw-0.4-example_config.json"), "utf8")) as Record<string, unknown>;
  raw.mcp_servers = servers;
  return raw;
}

describe("mcp_servers", () => {
  it("refuses an HTTP server URL with credentials in it, naming the field and where they go instead", () => {
    const result = parseConfig(configWithMcp({ docs: { url: "https://bot:hunter2@mcp.example.com/mcp" } }), { env: ENV });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const text = JSON.stringify(result);
      expect(text).toContain("mcp_servers.docs.url");
      expect(text).toContain("headers_env");
    }
    expect(parseConfig(configWithMcp({ docs: { url: "https://mcp.example.com/mcp?user=a@b" } }), { env: ENV }).ok).toBe(true);
  });
});
