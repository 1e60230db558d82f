// How the fake model servers honour an output limit a request carries: a reply longer than the limit is cut
// there and ends with the provider's "stopped at the limit" reason, as a real model would.

/** Characters a fake model counts as one output token (a rough English average). */
export const FAKE_CHARS_PER_TOKEN = 4;

/**
 * `reply` as a model with `limit` output tokens sends it: when its text is longer, the text cut there, its tool
 * calls (`calls`) left out (the model stopped before them) and `stop` (the provider's reason) set.
 */
export function underLimit<R extends { text?: string }>(reply: R, limit: unknown, calls: keyof R, stop: Partial<R>): R {
  if (typeof limit !== "number" || reply.text === undefined || reply.text.length <= limit * FAKE_CHARS_PER_TOKEN) return reply;
  const cut: R = { ...reply, text: reply.text.slice(0, limit * FAKE_CHARS_PER_TOKEN), ...stop };
  delete cut[calls];
  return cut;
}
