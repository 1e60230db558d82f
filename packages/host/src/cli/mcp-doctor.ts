import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { allowlistedEnv, type AllowlistOptions } from "@starling/protocol";
import { secretEnvNames, type McpServerConfig, type StarlingConfig } from "@starling/config";

interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  next?: string;
}

const PROBE_TIMEOUT_MS = 15_000;
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "starling-doctor", version: "1" } },
};

/**
 * One check per MCP server: its secrets are set, and it really answers `initialize` and `tools/list`
 * (a stdio server is started for that with the tools' allowlisted environment, then stopped).
 */
export async function mcpChecks(config: StarlingConfig, secret: (name: string) => string | undefined, envPath: string): Promise<Check[]> {
  const checks: Check[] = [];
  // As in the host: no config-named secret reaches a server by the allowlist (a `STARLING_*` model key would).
  const secretNames = secretEnvNames(config);
  const hidden = { secretNames, secretValues: secretNames.map(secret).filter((v): v is string => !!v) };
  for (const [name, server] of Object.entries(config.mcp_servers)) {
    const label = `mcp ${name}`;
    const names = Object.values(server.url ? server.headers_env : server.secret_env);
    const missing = names.filter((n) => !secret(n));
    if (missing.length) {
      checks.push({ name: label, status: "fail", detail: `${missing.join(", ")} not set (env file or environment)`, next: `add ${missing[0]}=… to ${envPath}` });
      continue;
    }
    try {
      const tools = server.url ? await probeHttp(server, secret) : await probeStdio(server, secret, hidden);
      const off = server.enabled ? "" : " (disabled in the config; /mcp enable turns it on per conversation)";
      checks.push({ name: label, status: "ok", detail: `connected, ${tools} tools${off}` });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      checks.push({ name: label, status: server.enabled ? "fail" : "warn", detail: `cannot connect: ${why}`, next: server.url ? `check mcp_servers.${name}.url and headers_env` : `check mcp_servers.${name}.command/args: run it by hand and see its stderr` });
    }
  }
  return checks;
}

async function probeHttp(server: McpServerConfig, secret: (name: string) => string | undefined): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream", ...server.headers };
  for (const [header, variable] of Object.entries(server.headers_env)) headers[header] = secret(variable)!;
  const post = async (body: unknown, session?: string) => {
    const res = await fetch(server.url!, { method: "POST", headers: { ...headers, ...(session ? { "mcp-session-id": session } : {}) }, body: JSON.stringify(body), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 401 || res.status === 403 ? " (the server refused the headers)" : ""}`);
    const text = await res.text();
    const data = text.trim().startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}");
    return { message: JSON.parse(data) as { result?: { tools?: unknown[] }; error?: { message: string } }, session: res.headers.get("mcp-session-id") ?? session };
  };
  const init = await post(INITIALIZE);
  if (init.message.error) throw new Error(init.message.error.message);
  await fetch(server.url!, { method: "POST", headers: { ...headers, ...(init.session ? { "mcp-session-id": init.session } : {}) }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) }).catch(() => undefined);
  const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, init.session ?? undefined);
  return list.message.result?.tools?.length ?? 0;
}

function probeStdio(server: McpServerConfig, secret: (name: string) => string | undefined, hidden: AllowlistOptions): Promise<number> {
  const env: Record<string, string> = { ...allowlistedEnv(process.env, hidden), ...server.env };
  for (const [variable, name] of Object.entries(server.secret_env)) env[variable] = secret(name)!;
  return new Promise((resolve, reject) => {
    const child = spawn(server.command!, server.args, { env, stdio: ["pipe", "pipe", "pipe"], ...(server.cwd?.startsWith("/") ? { cwd: server.cwd } : {}) });
    let stderr = "";
    const done = (error: Error | null, tools = 0) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      if (error) reject(error);
      else resolve(tools);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s${stderr ? `; stderr: ${stderr.trim().slice(-300)}` : ""}`)), PROBE_TIMEOUT_MS);
    child.on("error", (error) => done(error));
    child.on("exit", (code, signal) => done(new Error(`exited (${signal ?? `code ${code}`})${stderr ? `; stderr: ${stderr.trim().slice(-300)}` : ""}`)));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      let message: { id?: number; result?: { tools?: unknown[] }; error?: { message: string } };
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.error) return done(new Error(message.error.message));
      if (message.id === 1) {
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })}\n`);
      } else if (message.id === 2) done(null, message.result?.tools?.length ?? 0);
    });
    child.stdin.write(`${JSON.stringify(INITIALIZE)}\n`);
  });
}
