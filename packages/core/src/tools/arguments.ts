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
      message: `Invalid arguments for ${tool}: they must be JSON, but could not be parsed (${(error as Error).message}). Received: ${preview(text)}\nSend one JSON object matching the tool's schema.`,
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, message: `Invalid arguments for ${tool}: they must be a JSON object, not ${Array.isArray(value) ? "an array" : typeof value}. Received: ${preview(text)}` };
  }
  return { ok: true, value };
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
