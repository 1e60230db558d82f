/**
 * The config file is JSONC: JSON plus comments and trailing commas (jsonc-parser, the parser behind
 * VS Code's settings files). Syntax errors come with a 1-based line and column.
 */
import jsonc from "jsonc-parser";

export interface JsonSyntaxError {
  line: number;
  column: number;
  message: string;
}

const MESSAGES: Record<string, string> = {
  InvalidSymbol: "unexpected character (property names and strings need double quotes)",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between items",
  CloseBraceExpected: "expected ',' or '}' (an object is not closed)",
  CloseBracketExpected: "expected ',' or ']' (an array is not closed)",
  EndOfFileExpected: "unexpected text after the end of the JSON value",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "unterminated /* comment */",
  UnexpectedEndOfString: "unterminated string (a line break inside a string?)",
  UnexpectedEndOfNumber: "unterminated number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "control character in a string",
};

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError };

/** Parses JSONC (a leading BOM is allowed); on failure, the first error with its line and column. */
export function parseJsonText(text: string): JsonParseResult {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const errors: jsonc.ParseError[] = [];
  const value: unknown = jsonc.parse(body, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (!first) return { ok: true, value };
  const code = jsonc.printParseErrorCode(first.error);
  return { ok: false, error: { ...position(body, first.offset), message: MESSAGES[code] ?? code } };
}

/** The first syntax error in `text`, or undefined when it is valid JSONC. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const result = parseJsonText(text);
  return result.ok ? undefined : result.error;
}
