import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { ENV, errorsOf, FIXTURES, loadEdited } from "./helpers.js";

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

describe("mcp_servers: fields of the other transport", () => {
  it("refuses args, env, secret_env and cwd on an HTTP server, naming each and the transport that uses it", () => {
    const result = loadEdited((raw) => {
      raw.mcp_servers = { docs: { url: "https://mcp.example.com/mcp", args: ["--x"], env: { A: "1" }, secret_env: { KEY: "DOCS_KEY" }, cwd: "sub" } };
    }, { ...ENV, DOCS_KEY: "docs-secret" });
    const uses = "args, env, secret_env and cwd are for stdio servers (command); remove it";
    expect(errorsOf(result)).toEqual([
      `mcp_servers.docs.args: a Streamable HTTP server (url) does not use it; ${uses}`,
      `mcp_servers.docs.env: a Streamable HTTP server (url) does not use it; ${uses}`,
      `mcp_servers.docs.secret_env: a Streamable HTTP server (url) does not use it; ${uses} (an HTTP server's secret goes in a header: headers_env)`,
      `mcp_servers.docs.cwd: a Streamable HTTP server (url) does not use it; ${uses}`,
    ]);
  });

  it("refuses headers and headers_env on a stdio server", () => {
    const result = loadEdited((raw) => {
      raw.mcp_servers = { files: { command: "mcp-files", headers: { "X-A": "1" }, headers_env: { Authorization: "FILES_TOKEN" } } };
    }, { ...ENV, FILES_TOKEN: "Bearer files-secret" });
    const uses = "headers and headers_env are for Streamable HTTP servers (url); remove it";
    expect(errorsOf(result)).toEqual([
      `mcp_servers.files.headers: a stdio server (command) does not use it; ${uses}`,
      `mcp_servers.files.headers_env: a stdio server (command) does not use it; ${uses} (a stdio server's secret goes in its environment: secret_env)`,
    ]);
  });

  it("loads each transport with its own fields", () => {
    const result = loadEdited((raw) => {
      raw.mcp_servers = {
        files: { command: "mcp-files", args: ["--root", "."], env: { MODE: "ro" }, secret_env: { KEY: "FILES_KEY" }, cwd: "sub" },
        docs: { url: "https://mcp.example.com/mcp", headers: { "X-A": "1" }, headers_env: { Authorization: "DOCS_TOKEN" } },
      };
    }, { ...ENV, FILES_KEY: "files-secret", DOCS_TOKEN: "Bearer docs-secret" });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([]);
  });
});
