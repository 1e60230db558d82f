import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../src/index.js";

const committed = new URL("../schema/starling-config.schema.json", import.meta.url);

describe("configJsonSchema", () => {
  it("describes the latest version and flags unknown keys for editors", () => {
    const schema = configJsonSchema() as { properties: Record<string, { const?: string }>; additionalProperties?: boolean; $defs?: object };
    expect(schema.properties.version?.const).toBe("0.4");
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["models", "session_defaults", "sandbox", "channels", "workers", "recovery", "log"]),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(schema.$defs).toHaveProperty("ModelConfig");
  });

  it("matches the committed schema file (regenerate: node config/dist/write-json-schema.js)", () => {
    expect(JSON.parse(readFileSync(committed, "utf8"))).toEqual(configJsonSchema());
  });
});
