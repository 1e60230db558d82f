import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergedEnv, parseConfig, readEnvFile } from "../src/index.js";
import { ENV, errorsOf, FIXTURES, loadEdited, tempDir } from "./helpers.js";

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

describe("mcp_servers: secret variables", () => {
  const servers = {
    files: { command: "mcp-files", secret_env: { FILES_API_KEY: "FILES_KEY" } },
    docs: { url: "https://mcp.example.com/mcp", headers_env: { Authorization: "DOCS_TOKEN" }, enabled: false },
  };

  it("warns at load about a variable secret_env or headers_env names that is not set or empty; the config loads", () => {
    const result = loadEdited((raw) => void (raw.mcp_servers = servers), { ...ENV, DOCS_TOKEN: " " });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([
      "mcp_servers.files.secret_env.FILES_API_KEY: environment variable FILES_KEY is not set; add a line FILES_KEY=… to the env file (starling.env next to the config, or --env-file) or export it; the server cannot start until it is",
      "mcp_servers.docs.headers_env.Authorization: environment variable DOCS_TOKEN is empty; set it to the secret in the env file (starling.env next to the config) or the environment; the server cannot start until it is",
    ]);
  });

  it("takes the variables from the env file the host reads first", () => {
    const envPath = join(tempDir(), "starling.env");
    writeFileSync(envPath, "FILES_KEY=files-secret\nDOCS_TOKEN=Bearer docs-secret\n");
    const envFile = readEnvFile(envPath);
    if (!envFile.ok) throw new Error(envFile.error);
    const result = loadEdited((raw) => void (raw.mcp_servers = servers), mergedEnv(envFile.values, ENV));
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.warnings).toEqual([]);
  });
});
