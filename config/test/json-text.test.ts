import { describe, expect, it } from "vitest";
import { findJsonSyntaxError, parseJsonText } from "../src/json-text.js";

describe("JSONC syntax errors", () => {
  it.each([
    ['{"a": 1 "b": 2}', 1, 9, "expected ',' between items"],
    ['{\n  "a": "x\n"}', 2, 8, "unterminated string"],
    ["{a: 1}", 1, 2, "double quotes"],
    ["{\n}\n}", 3, 1, "after the end of the JSON value"],
    ["", 1, 1, "expected a value"],
    ["{ /* open", 1, 3, "unterminated /* comment */"],
  ])("%j → line %i, column %i", (text, line, column, message) => {
    const error = findJsonSyntaxError(text);
    expect(error).toMatchObject({ line, column });
    expect(error?.message).toContain(message);
    expect(parseJsonText(text).ok).toBe(false);
  });

  it("accepts JSON, comments and trailing commas (with a BOM)", () => {
    expect(findJsonSyntaxError('{"a": [1, -2.5e3, true, null, "\\u00e9\\n"]}')).toBeUndefined();
    expect(parseJsonText('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('// note\n{"a": [1, 2,], /* b */ "b": "x // not a comment",}')).toEqual({
      ok: true,
      value: { a: [1, 2], b: "x // not a comment" },
    });
  });
});
