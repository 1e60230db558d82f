import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { McpServerSpec } from "@starling/protocol";
import type { ToolSchema } from "../tools/types.js";

/** Tool names the model APIs accept (OpenAI's rule, the strictest of the supported wire formats). */
const API_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Keywords OpenAI refuses at the top level of function parameters. */
const TOP_LEVEL_FORBIDDEN = ["anyOf", "oneOf", "allOf", "not", "enum"];
const MAX_SCHEMA_CHARS = 64_000;
const MAX_DESCRIPTION_CHARS = 4_000;

/** One tool of an MCP server as the MCP client lists it (the fields Starling uses). */
export interface McpListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; title?: string };
}

/** An MCP tool in the session's catalog. */
export interface McpCatalogEntry {
  schema: ToolSchema;
  server: string;
  /** The name on the server. */
  tool: string;
  /** `readOnlyHint`: may be re-run after a crash (ARCHITECTURE §5.3). */
  readOnly: boolean;
  validate: ValidateFunction;
}

export interface McpCatalogResult {
  entries: McpCatalogEntry[];
  skipped: { tool: string; reason: string }[];
}

export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`;
}

/**
 * The catalog entries of one server's tools: allow/deny applied, names and schemas checked. A tool the
 * model API could not take (bad name, schema that is not an object or does not compile) is left out
 * and reported in `skipped`, never sent.
 */
export function mcpCatalog(server: string, spec: McpServerSpec, tools: readonly McpListedTool[]): McpCatalogResult {
  const entries: McpCatalogEntry[] = [];
  const skipped: McpCatalogResult["skipped"] = [];
  const allow = spec.toolsAllow ? new Set(spec.toolsAllow) : null;
  const deny = new Set(spec.toolsDeny);
  const seen = new Set<string>();
  for (const tool of tools) {
    if (deny.has(tool.name) || (allow && !allow.has(tool.name))) continue;
    if (seen.has(tool.name)) {
      skipped.push({ tool: tool.name, reason: "the server lists this name more than once; the first is offered" });
      continue;
    }
    seen.add(tool.name);
    const name = mcpToolName(server, tool.name);
    if (!API_TOOL_NAME.test(name)) {
      skipped.push({ tool: tool.name, reason: `${name} is not a valid tool name for model APIs (letters, digits, _ and -, at most 64)` });
      continue;
    }
    const checked = checkSchema(tool.inputSchema);
    if (typeof checked === "string") {
      skipped.push({ tool: tool.name, reason: checked });
      continue;
    }
    const description = (tool.description ?? tool.annotations?.title ?? "").slice(0, MAX_DESCRIPTION_CHARS);
    entries.push({
      schema: { name, description: `[MCP server ${server}] ${description}`.trim(), parameters: checked.parameters },
      server,
      tool: tool.name,
      readOnly: tool.annotations?.readOnlyHint === true,
      validate: checked.validate,
    });
  }
  return { entries, skipped };
}

/** The parameters to send and their validator, or why the schema cannot be offered. */
function checkSchema(input: unknown): { parameters: Record<string, unknown>; validate: ValidateFunction } | string {
  if (!input || typeof input !== "object" || Array.isArray(input)) return "its input schema is not a JSON object";
  const { $schema, ...schema } = input as Record<string, unknown>;
  if (schema.type !== "object") return `its input schema has type ${JSON.stringify(schema.type)}; model APIs need "object"`;
  const forbidden = TOP_LEVEL_FORBIDDEN.filter((k) => k in schema);
  if (forbidden.length) return `its input schema uses ${forbidden.join(", ")} at the top level, which model APIs refuse`;
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch {
    return "its input schema cannot be serialised as JSON";
  }
  if (text.length > MAX_SCHEMA_CHARS) return `its input schema is ${text.length} characters (limit ${MAX_SCHEMA_CHARS})`;
  const draft2020 = typeof $schema === "string" && /2019-09|2020-12/.test($schema);
  const ajv = draft2020 ? new Ajv2020({ strict: false, allErrors: true }) : new Ajv({ strict: false, allErrors: true });
  try {
    const validate = ajv.compile(schema);
    return { parameters: { ...schema, properties: schema.properties ?? {} }, validate };
  } catch (error) {
    return `its input schema is not valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Ajv's errors as one line per field, for an invalid_arguments result. */
export function describeSchemaErrors(tool: string, validate: ValidateFunction): string {
  const lines = (validate.errors ?? []).map((e) => `- ${e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "(arguments)"}: ${e.message ?? "invalid"}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
  return `Invalid arguments for ${tool}:\n${lines.join("\n")}\nFix the arguments to match the tool's schema and call it again.`;
}
