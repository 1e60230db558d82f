// Writes JSON Schema files of every protocol method and event for non-TypeScript embedders.
// Usage: node packages/protocol/dist/write-json-schema.js <out dir>
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { Methods } from "./methods.js";
import { SessionEvent } from "./events.js";
import { ModelConfig } from "./model-config.js";
import { ChatMessage, TranscriptMessage } from "./values.js";
import { COORDINATE_ACTIONS, CoordinateRequest } from "./coordinate.js";

export function protocolJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const toSchema = (schema: z.ZodType, io: "input" | "output") =>
    z.toJSONSchema(schema, { io, unrepresentable: "any" });
  for (const [name, d] of Object.entries(Methods)) {
    out[`${name}.params`] = { title: `${d.method} params`, ...toSchema(d.params, "input") };
    if (d.kind === "request") out[`${name}.result`] = { title: `${d.method} result`, ...toSchema(d.result, "output") };
  }
  out["SessionEvent"] = toSchema(SessionEvent, "output");
  out["ModelConfig"] = toSchema(ModelConfig, "input");
  out["ChatMessage"] = toSchema(ChatMessage, "input");
  out["TranscriptMessage"] = toSchema(TranscriptMessage, "output");
  // host/coordinate per action: the request (params by action) and each action's `result`.
  out["CoordinateRequest"] = { title: "host/coordinate params by action", ...toSchema(CoordinateRequest, "input") };
  const results = Object.fromEntries(Object.entries(COORDINATE_ACTIONS).map(([action, d]) => [action, d.result]));
  out["CoordinateResults"] = { title: "host/coordinate result.result by action", ...toSchema(z.object(results), "output") };
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  const dir = process.argv[2] ?? "schemas";
  mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(protocolJsonSchemas())) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(schema, null, 2) + "\n");
  }
  process.stderr.write(`wrote ${Object.keys(protocolJsonSchemas()).length} schemas to ${dir}\n`);
}
