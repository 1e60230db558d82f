import { describe, expect, it } from "vitest";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const runtime = new ToolRuntime({ workspace: "/tmp", sessionId: "s", coordinate: async () => null });

/** The contract the model and the prompts depend on (ARCHITECTURE §9): names, arguments, required ones. */
const CONTRACT: Record<string, { properties: string[]; required: string[] }> = {
  apply_patch: { properties: ["patch", "strip"], required: ["patch"] },
  edit: { properties: ["path", "old_text", "new_text", "replace_all"], required: ["path", "old_text", "new_text"] },
  file_read: { properties: ["file_path", "offset", "limit"], required: ["file_path"] },
  file_write: { properties: ["file_path", "content", "mode"], required: ["file_path", "content"] },
  glob: { properties: ["pattern", "path"], required: ["pattern"] },
  grep: { properties: ["pattern", "path", "include"], required: ["pattern"] },
  ls: { properties: ["path"], required: [] },
  shell: { properties: ["command", "session_id", "input", "wait_ms", "max_output_chars"], required: [] },
  shell_close: { properties: ["session_id"], required: ["session_id"] },
};

describe("tool catalog (JSON Schema the model sees)", () => {
  const catalog = runtime.catalog();

  it("lists exactly the contract's tools, sorted by name", () => {
    expect(catalog.map((t) => t.name)).toEqual(Object.keys(CONTRACT).sort());
  });

  for (const [name, expected] of Object.entries(CONTRACT)) {
    it(`${name}: properties, required fields and descriptions`, () => {
      const tool = catalog.find((t) => t.name === name);
      expect(tool).toBeDefined();
      const schema = tool?.parameters as { type: string; properties: Record<string, { description?: string }>; required?: string[]; additionalProperties: boolean; $schema?: string };
      expect(schema.type).toBe("object");
      expect(schema.additionalProperties).toBe(false);
      expect(schema.$schema).toBeUndefined();
      expect(Object.keys(schema.properties)).toEqual(expected.properties);
      expect(Array.isArray(schema.required)).toBe(true);
      expect([...(schema.required ?? [])].sort()).toEqual([...expected.required].sort());
      for (const [prop, def] of Object.entries(schema.properties)) {
        expect(def.description, `${name}.${prop} needs a description`).toBeTruthy();
      }
      expect(tool?.description.length).toBeGreaterThan(40);
    });
  }

  it("shows enums and integer bounds", () => {
    const props = (name: string) => (catalog.find((t) => t.name === name)?.parameters as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(props("file_write").mode).toMatchObject({ type: "string", enum: ["overwrite", "append"] });
    expect(props("shell").wait_ms).toMatchObject({ type: "integer", minimum: 0, maximum: 300_000 });
    expect(props("file_read").limit).toMatchObject({ type: "integer", minimum: 1 });
    expect(props("edit").replace_all).toMatchObject({ type: "boolean" });
  });
});
