// The JSON Schema writer covers the whole protocol, and the committed docs/schemas files are current.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Methods, SessionEvent } from "../src/index.js";
import { protocolJsonSchemas } from "../src/write-json-schema.js";

const SCHEMA_DIR = fileURLToPath(new URL("../../../docs/schemas/", import.meta.url));
const REGENERATE =
  "regenerate with `pnpm exec tsc -b packages/protocol && node packages/protocol/dist/write-json-schema.js docs/schemas` (or `pnpm schemas`)";

const schemas = protocolJsonSchemas() as Record<string, Record<string, unknown>>;

describe("protocolJsonSchemas()", () => {
  it.each(Object.entries(Methods).map(([name, d]) => [name, d] as const))("has params (and a result for a request) of %s", (name, d) => {
    expect(schemas[`${name}.params`], `${name}.params`).toMatchObject({ title: `${d.method} params` });
    if (d.kind === "request") expect(schemas[`${name}.result`], `${name}.result`).toMatchObject({ title: `${d.method} result` });
    else expect(schemas).not.toHaveProperty(`${name}.result`);
  });

  it("has one SessionEvent branch per event type", () => {
    const branches = (schemas["SessionEvent"]!["oneOf"] ?? schemas["SessionEvent"]!["anyOf"]) as { properties: { type: { const: string } } }[];
    const documented = branches.map((b) => b.properties.type.const).sort();
    expect(documented).toEqual(SessionEvent.options.map((o) => o.shape.type.value as string).sort());
  });

  it("describes session/event as {seq, event}", () => {
    expect(schemas["event.params"]).toMatchObject({ required: ["seq", "event"], properties: { seq: { type: "integer", minimum: 0 } } });
  });

  it("includes the shared values", () => {
    for (const name of ["ModelConfig", "ChatMessage", "TranscriptMessage"]) expect(schemas[name], name).toBeDefined();
  });
});

describe("docs/schemas", () => {
  it("matches the protocol package", () => {
    const files = new Set(readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".json")));
    const stale: string[] = [];
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(schemas)) {
      const file = `${name}.json`;
      if (!files.delete(file)) missing.push(file);
      else if (readFileSync(SCHEMA_DIR + file, "utf8") !== JSON.stringify(schema, null, 2) + "\n") stale.push(file);
    }
    const extra = [...files];
    const problems = [
      stale.length ? `stale: ${stale.join(", ")}` : "",
      missing.length ? `missing: ${missing.join(", ")}` : "",
      extra.length ? `no longer generated (delete them): ${extra.join(", ")}` : "",
    ].filter(Boolean);
    expect(problems, `docs/schemas is out of date; ${REGENERATE}`).toEqual([]);
  });
});
