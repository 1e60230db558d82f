/**
 * The `id` of a JSON-RPC request from the first part of its body, or null when that part does not
 * hold a complete top-level `"id"` member (it may come after `params`, or not have arrived yet). Used to
 * answer a frame that stopped arriving, so the client waiting on that id gets its error.
 */
export function idOfPartialBody(text: string): string | number | null {
  let at = skipSpace(text, 0);
  if (text[at] !== "{") return null;
  at++;
  for (;;) {
    at = skipSpace(text, at);
    const keyEnd = stringEnd(text, at);
    if (keyEnd < 0) return null;
    const key = text.slice(at, keyEnd);
    at = skipSpace(text, keyEnd);
    if (text[at] !== ":") return null;
    at = skipSpace(text, at + 1);
    const valueEnd = valueEndAt(text, at);
    if (valueEnd < 0) return null;
    if (key === '"id"') {
      let value: unknown;
      try {
        value = JSON.parse(text.slice(at, valueEnd));
      } catch {
        return null;
      }
      return typeof value === "string" || typeof value === "number" ? value : null;
    }
    at = skipSpace(text, valueEnd);
    if (text[at] !== ",") return null;
    at++;
  }
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && " \t\r\n".includes(text[at]!)) at++;
  return at;
}

/** The index just past the string starting at `at`, or -1 when it is not complete. */
function stringEnd(text: string, at: number): number {
  if (text[at] !== '"') return -1;
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return -1;
}

/** The index just past the value starting at `at`, or -1 when it is not complete (a number must be followed by something). */
function valueEndAt(text: string, at: number): number {
  if (text[at] === '"') return stringEnd(text, at);
  if (text[at] === "{" || text[at] === "[") {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i = stringEnd(text, i) - 1;
        if (i < 0) return -1;
      } else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = at;
  while (i < text.length && /[-+.0-9eEa-z]/.test(text[i]!)) i++;
  return i > at && i < text.length ? i : -1;
}
