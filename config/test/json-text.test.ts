import { describe, expect, it } from "vitest";
import { findJsonSyntaxError, parseJsonText } from "../src/json-text.js";

describe("JSON syntax errors", () => {
  it.each([
    ['{"a": 1 "b": 2}', 1, 9, "expected ',' or '}' after a property value"],
    ['{"a": [1,]}', 1, 10, "trailing comma before ']'"],
    ['{\n  "a": "x\n"}', 2, 10, "unterminated string"],
    ["// note\n{}", 1, 1, "comments are not allowed in JSON"],
    ["{a: 1}", 1, 2, "expected a property name in double quotes"],
    ["{\n}\n}", 3, 1, "after the end of the JSON value"],
    ["", 1, 1, "unexpected end of file"],
  ])("%j → line %i, column %i", (text, line, column, message) => {
    const error = findJsonSyntaxError(text);
    expect(error).toMatchObject({ line, column });
    expect(error?.message).toContain(message);
    expect(parseJsonText(text).ok).toBe(false);
  });

  it("accepts valid JSON (with a BOM)", () => {
    expect(findJsonSyntaxError('{"a": [1, -2.5e3, true, null, "\\u00e9\\n"]}')).toBeUndefined();
    expect(parseJsonText('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
  });
});
