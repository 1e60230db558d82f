import type { CheckResult } from "./cross-checks.js";
import { asRecord, type RawConfig } from "./loaders/raw.js";

/** What each transport reads besides its `command` / `url`; on a server of the other transport these would do nothing. */
const TRANSPORTS = {
  stdio: { one: "a stdio server (command)", many: "stdio servers (command)", fields: ["args", "env", "secret_env", "cwd"] },
  http: { one: "a Streamable HTTP server (url)", many: "Streamable HTTP servers (url)", fields: ["headers", "headers_env"] },
} as const;

/** Where the secret goes instead, for the field a user would reach for to pass one. */
const SECRET_HINT: Record<string, string> = {
  secret_env: " (an HTTP server's secret goes in a header: headers_env)",
  headers_env: " (a stdio server's secret goes in its environment: secret_env)",
};

const list = (fields: readonly string[]) => `${fields.slice(0, -1).join(", ")} and ${fields.at(-1)}`;

/** A field of the other transport on an MCP server is an error naming it and the transport that uses it. */
export function checkMcpServers(config: RawConfig, out: CheckResult): void {
  for (const [name, server] of Object.entries(asRecord(config.mcp_servers))) {
    const fields = asRecord(server);
    const isHttp = fields.url !== undefined;
    if (isHttp === (fields.command !== undefined)) continue; // neither or both: the schema says to give one
    const [own, other] = isHttp ? [TRANSPORTS.http, TRANSPORTS.stdio] : [TRANSPORTS.stdio, TRANSPORTS.http];
    for (const field of other.fields) {
      if (fields[field] === undefined) continue;
      out.errors.push(`mcp_servers.${name}.${field}: ${own.one} does not use it; ${list(other.fields)} are for ${other.many}; remove it${SECRET_HINT[field] ?? ""}`);
    }
  }
}
