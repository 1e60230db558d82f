import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { ENV, FIXTURES } from "./helpers.js";

function configWithDeny(deny: unknown): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(join(FIXTURES, "stellaclaw-0.4-example_config.json"), "utf8")) as Record<string, unknown>;
  raw.tools = { deny };
  return raw;
}

describe("tools.deny", () => {
  it("accepts catalog and MCP tool names without a warning", () => {
    const result = parseConfig(configWithDeny(["shell", "web_fetch", "mcp__github__create_issue"]), { env: ENV });
    expect(result.ok).toBe(true);
    expect(result.warnings.filter((w) => w.startsWith("tools.deny"))).toEqual([]);
    if (result.ok) expect(result.config.tools.deny).toEqual(["shell", "web_fetch", "mcp__github__create_issue"]);
  });

  it("warns about an MCP name that is a pattern or has no tool part (it would deny nothing)", () => {
    const result = parseConfig(configWithDeny(["mcp__github__*", "mcp__github", "mcp__github__create_issue"]), { env: ENV });
    expect(result.ok).toBe(true);
    const warnings = result.warnings.filter((w) => w.startsWith("tools.deny"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"mcp__github__*", "mcp__github"');
    expect(warnings[0]).toContain("mcp_servers.<server>.tools.deny");
  });

  it("warns naming every unknown tool (a typo denies nothing)", () => {
    const result = parseConfig(configWithDeny(["shel", "file_read", "rm_rf"]), { env: ENV });
    expect(result.ok).toBe(true);
    const warnings = result.warnings.filter((w) => w.startsWith("tools.deny"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^tools\.deny: no tool named "shel", "rm_rf"; it denies nothing/);
  });
});
