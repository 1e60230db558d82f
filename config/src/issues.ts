import type { z } from "zod";

type Issue = z.core.$ZodIssue;
type PathPart = PropertyKey;

/** `channels.0.bot_token_env`; the root is `(root)`. */
export function formatPath(path: readonly PathPart[]): string {
  return path.length === 0 ? "(root)" : path.map((part) => String(part)).join(".");
}

/** Zod's built-in messages start like this; our own schema messages are used verbatim. */
const DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Expected)/;

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  return `${typeof value === "number" && Number.isInteger(value) ? "an integer" : `a ${typeof value}`}`;
}

/** Short strings only: long values could be URLs or tokens, which never go into messages. */
function quoteShort(value: unknown): string {
  if (typeof value === "string" && value.length <= 40 && !/[\s?&=]/.test(value)) return ` (got "${value}")`;
  if (typeof value === "number" || typeof value === "boolean") return ` (got ${String(value)})`;
  return "";
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, small: boolean) {
  const limit = String(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case "string":
      return small && limit === "1" ? "must not be empty" : `must have ${small ? "at least" : "at most"} ${limit} characters`;
    case "array":
    case "set":
      return `must have ${small ? "at least" : "at most"} ${limit} item${limit === "1" ? "" : "s"}`;
    default:
      if (issue.inclusive === false) return `must be ${small ? "greater" : "less"} than ${limit}`;
      return `must be ${small ? "at least" : "at most"} ${limit}`;
  }
}

/** Picks the union branch that matches the value's type, so the user sees why *that* shape failed. */
function bestUnionBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  return branches.find((issues) => !issues.some((i) => i.code === "invalid_type" && i.path.length === 0));
}

function describeIssue(issue: Issue): string {
  if (!DEFAULT_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `required (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `must be ${issue.values.length === 1 ? "" : "one of "}${issue.values.map((v) => JSON.stringify(v)).join(", ")}${quoteShort(issue.input)}`;
    case "invalid_format":
      return issue.format === "url" ? "must be a valid URL" : `has an invalid format (${issue.format})`;
    case "too_small":
      return bound(issue, true);
    case "too_big":
      return bound(issue, false);
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/** Turns zod issues into `path.to.field: what is wrong` lines, one per problem. */
export function formatIssues(issues: readonly Issue[], prefix: readonly PathPart[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union") {
      const extra = issue as { options?: unknown[]; note?: string };
      if (extra.note === "No matching discriminator") {
        const input = (issue.input as Record<string, unknown> | undefined)?.[String(path[path.length - 1])];
        const known = (extra.options ?? []).map((o) => String(o)).join(", ");
        out.push(`${formatPath(path)}: unsupported value${quoteShort(input)}; supported: ${known}`);
        continue;
      }
      const branch = bestUnionBranch(issue.errors);
      if (branch && branch.length > 0) {
        out.push(...formatIssues(branch, path));
        continue;
      }
    }
    out.push(`${formatPath(path)}: ${describeIssue(issue)}`);
  }
  return out;
}
