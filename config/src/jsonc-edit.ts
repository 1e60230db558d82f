/**
 * Rewrites a JSONC document into a new value by editing only what changed, so the user's comments and
 * layout survive a config upgrade. Falls back to plain JSON when the edits do not reproduce the value.
 */
import { isDeepStrictEqual } from "node:util";
import jsonc from "jsonc-parser";

type Path = (string | number)[];
type Change = { path: Path; value: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function changes(path: Path, before: unknown, after: unknown, out: Change[]): void {
  if (isDeepStrictEqual(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) if (!(key in after)) out.push({ path: [...path, key], value: undefined });
    for (const [key, value] of Object.entries(after)) changes([...path, key], before[key], value, out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    after.forEach((value, index) => changes([...path, index], before[index], value, out));
    return;
  }
  out.push({ path, value: after });
}

/** `text` (whose parsed value is `before`) edited to hold `after`; the result always parses to `after`. */
export function rewriteJsonc(text: string, before: unknown, after: unknown): string {
  const found: Change[] = [];
  changes([], before, after, found);
  let edited = text;
  const formattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };
  try {
    for (const change of found) {
      edited = jsonc.applyEdits(edited, jsonc.modify(edited, change.path, change.value, { formattingOptions }));
    }
  } catch {
    edited = "";
  }
  const errors: jsonc.ParseError[] = [];
  const check: unknown = jsonc.parse(edited, errors, { allowTrailingComma: true });
  if (errors.length === 0 && isDeepStrictEqual(check, after)) return edited.endsWith("\n") ? edited : `${edited}\n`;
  return JSON.stringify(after, null, 2) + "\n";
}
