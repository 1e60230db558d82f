// Anthropic's effort parameter as the Messages API documents it (platform.claude.com "Effort"): the request's
// `output_config.effort`, one of "low", "medium", "high", "xhigh", "max", no beta header; "max" and "xhigh" only
// on some models (the fake takes them from any). Assumed, as the API validates its body: an `output_config` that
// is not an object with a known `effort`, or an `effort` at the top of the body, is refused with 400.
const LEVELS = ["low", "medium", "high", "xhigh", "max"];

/** The refusal message for a request whose effort is malformed; null when it is absent or well-formed. */
export function effortRefusal(body: Record<string, unknown>): string | null {
  if (body["effort"] !== undefined) return "effort: Extra inputs are not permitted";
  const config = body["output_config"];
  if (config === undefined) return null;
  if (typeof config !== "object" || config === null || Array.isArray(config)) return "output_config: Input should be a valid dictionary";
  const effort = (config as Record<string, unknown>)["effort"];
  if (effort !== undefined && !LEVELS.includes(effort as string)) {
    return `output_config.effort: Input should be ${LEVELS.slice(0, -1).map((l) => `'${l}'`).join(", ")} or '${LEVELS.at(-1)}'`;
  }
  return null;
}
