import { CLAUDE_DEFAULT_MAX_TOKENS, CLAUDE_MIN_THINKING_BUDGET } from "@starling/protocol";
import { asNumber, isRecord } from "./loaders/raw.js";
import type { CheckResult } from "./cross-checks.js";

/**
 * A claude_code model's `reasoning`: `{"type": "adaptive"}` is adaptive thinking (the only thinking Claude Opus 4.7
 * and newer take), `max_tokens` the manual extended-thinking budget, which Anthropic takes only as a whole number
 * ≥ 1024 and below the request's `max_tokens` (the thinking counts against it). Older Starling read `max_tokens`
 * as the output limit, so a budget at or over the limit names that way out too. Other keys do nothing on this
 * provider (Stellaclaw configs carry `effort`): a warning.
 */
export function checkClaudeThinking(fields: Record<string, unknown>, at: string, out: CheckResult): void {
  const reasoning = fields.reasoning;
  if (reasoning === undefined || reasoning === null) return;
  if (!isRecord(reasoning)) {
    out.warnings.push(`${at}.reasoning: not used by claude_code models unless it is {"type": "adaptive"} (adaptive thinking) or {"max_tokens": N} (the extended-thinking budget); remove it`);
    return;
  }
  const unused = Object.keys(reasoning).filter((key) => key !== "max_tokens" && key !== "type");
  if (unused.length > 0) {
    const effort = unused.includes("effort") ? ' (Anthropic\'s effort is the model\'s own field: "effort": "medium")' : "";
    const budgetTokens = unused.includes("budget_tokens") ? " (the manual thinking budget is written max_tokens here)" : "";
    out.warnings.push(`${at}.reasoning: ${unused.join(", ")} not used by claude_code models (only type "adaptive" or max_tokens, the extended-thinking budget); remove ${unused.length === 1 ? "it" : "them"}${effort}${budgetTokens}`);
  }
  const set = fields.max_output_tokens;
  const budget = reasoning.max_tokens;
  if (reasoning.type !== undefined) {
    if (reasoning.type !== "adaptive") {
      out.errors.push(
        `${at}.reasoning.type: ${JSON.stringify(reasoning.type)} is not a thinking mode Starling sends; write "adaptive" (Claude decides when and how much to think; Claude Opus 4.7 and newer take only this), or leave type out and set max_tokens for manual extended thinking with that budget (older models)`,
      );
    } else if (budget !== undefined) {
      out.errors.push(`${at}.reasoning: adaptive thinking has no budget: remove max_tokens (and set max_output_tokens for the reply's limit, thinking included), or remove "type": "adaptive" for manual thinking with that budget`);
    } else if (set === undefined) {
      out.warnings.push(`${at}.reasoning: adaptive thinking counts against the reply's output limit, by default ${CLAUDE_DEFAULT_MAX_TOKENS} tokens (max_output_tokens is not set): set max_output_tokens to say how many, e.g. 16000`);
    }
    return;
  }
  if (budget === undefined) return;
  if (typeof budget !== "number" || !Number.isInteger(budget) || budget < CLAUDE_MIN_THINKING_BUDGET) {
    out.errors.push(
      `${at}.reasoning.max_tokens: the extended-thinking budget must be a whole number of tokens, at least ${CLAUDE_MIN_THINKING_BUDGET} (Anthropic's minimum), e.g. 4096; remove it for no thinking`,
    );
    return;
  }
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
