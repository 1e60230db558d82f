import type { z } from "zod";

/** Parsed tool arguments, or a message for the model saying what is wrong with them. */
export type ArgumentsResult = { ok: true; value: unknown } | { ok: false; message: string };

/** Parses the model's raw argument text: must be a JSON object (empty text counts as `{}`). */
export function parseArgumentText(tool: string, text: string): ArgumentsResult {
  if (text.trim() === "") return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      message:
        `Invalid arguments for ${tool}: they must be JSON, but could not be parsed (${(error as Error).message}). Received: ${preview(text)}\n` +
        (endsEarly(text, error) ? `${CUT_OFF_HINT}\n` : "") +
        "Send one JSON object matching the tool's schema.",
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, message: `Invalid arguments for ${tool}: they must be a JSON object, not ${Array.isArray(value) ? "an array" : typeof value}. Received: ${preview(text)}` };
  }
  return { ok: true, value };
}

/** Said when the arguments end in the middle of the JSON, mostly a reply cut at the model's output limit. */
const CUT_OFF_HINT =
  "They end in the middle: your reply probably reached the output token limit and was cut off. Send less in one call (write a long file in several parts, e.g. file_write then edits).";
function endsEarly(text: string, error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (/unexpected end|unterminated/i.test(message)) return true;
  const at = /at position (\d+)/.exec(message);
  return at !== null && Number(at[1]) >= text.trimEnd().length;
}

/** Lists zod issues as `path: problem` lines and echoes what was received. */
export function describeIssues(tool: string, issues: readonly z.core.$ZodIssue[], received: unknown): string {
  const lines = issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join(".") : "(arguments)";
    return `- ${path}: ${issue.message}`;
  });
  return `Invalid arguments for ${tool}:\n${lines.join("\n")}\nReceived: ${preview(JSON.stringify(received))}\nFix these and call ${tool} again.`;
}

function preview(text: string): string {
  return text.length <= 2_000 ? text : `${text.slice(0, 2_000)}… [${text.length - 2_000} more characters]`;
}
