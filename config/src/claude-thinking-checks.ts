import { CLAUDE_DEFAULT_MAX_TOKENS, CLAUDE_MIN_THINKING_BUDGET } from "@starling/protocol";
import { asNumber, isRecord } from "./loaders/raw.js";
import type { CheckResult } from "./cross-checks.js";

/**
 * A claude_code model's `reasoning`: `max_tokens` is the extended-thinking budget, which Anthropic takes only as
 * a whole number ≥ 1024 and below the request's `max_tokens` (the thinking counts against it). Older Starling
 * read it as the output limit, so a budget at or over the limit names that way out too. Other keys do nothing
 * on this provider (Stellaclaw configs carry `effort`): a warning.
 */
export function checkClaudeThinking(fields: Record<string, unknown>, at: string, out: CheckResult): void {
  const reasoning = fields.reasoning;
  if (reasoning === undefined || reasoning === null) return;
  if (!isRecord(reasoning)) {
    out.warnings.push(`${at}.reasoning: not used by claude_code models unless it is {"max_tokens": N} (the extended-thinking budget); remove it`);
    return;
  }
  const unused = Object.keys(reasoning).filter((key) => key !== "max_tokens");
  if (unused.length > 0) {
    const effort = unused.includes("effort") ? ' (Anthropic\'s effort is the model\'s own field: "effort": "medium")' : "";
    out.warnings.push(`${at}.reasoning: ${unused.join(", ")} not used by claude_code models (only max_tokens, the extended-thinking budget); remove ${unused.length === 1 ? "it" : "them"}${effort}`);
  }
  const budget = reasoning.max_tokens;
  if (budget === undefined) return;
  if (typeof budget !== "number" || !Number.isInteger(budget) || budget < CLAUDE_MIN_THINKING_BUDGET) {
    out.errors.push(
      `${at}.reasoning.max_tokens: the extended-thinking budget must be a whole number of tokens, at least ${CLAUDE_MIN_THINKING_BUDGET} (Anthropic's minimum), e.g. 4096; remove it for no thinking`,
    );
    return;
  }
  const set = fields.max_output_tokens;
  if (set !== undefined && asNumber(set) === undefined) return; // the schema error says what is wrong with it
  const limit = asNumber(set) ?? CLAUDE_DEFAULT_MAX_TOKENS;
  const limitName = set === undefined ? `the default output limit (${limit}; max_output_tokens is not set)` : `max_output_tokens (${limit})`;
  if (budget >= limit) {
    out.errors.push(
      `${at}.reasoning.max_tokens: the extended-thinking budget (${budget}) must be below ${limitName}, which the thinking counts against; set max_output_tokens higher (e.g. ${budget * 2}) or the budget lower. (Starling 0.15 and older read reasoning.max_tokens as the output limit: for that, write "max_output_tokens": ${budget} and remove reasoning.max_tokens.)`,
    );
  } else if (set === undefined) {
    out.warnings.push(
      `${at}.reasoning.max_tokens: turns on extended thinking with a budget of ${budget} tokens (Starling 0.15 and older read it as the output limit); a reply, thinking included, stops at the default ${limit} tokens: set max_output_tokens to say how many`,
    );
  }
}
