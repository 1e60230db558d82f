// Writes config/schema/starling-config.schema.json (the editor schema of the config file).
// Usage: node config/dist/write-json-schema.js [out file]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "./json-schema.js";

export const DEFAULT_SCHEMA_PATH = fileURLToPath(new URL("../schema/starling-config.schema.json", import.meta.url));

export function writeConfigJsonSchema(path = DEFAULT_SCHEMA_PATH): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(configJsonSchema(), null, 2) + "\n");
  return path;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const written = writeConfigJsonSchema(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stderr.write(`wrote ${written}\n`);
}
