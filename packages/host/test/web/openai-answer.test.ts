// Which web log event answers a /v1 request: the turn end naming its message id; one without ids
// (written from an older worker's event) as before; never a turn end naming other messages or none.
import { describe, expect, it } from "vitest";
import { answers } from "../../src/channels/web/routes-openai.js";
import type { WebEvent } from "../../src/channels/web/web-log.js";

const event = (patch: Partial<WebEvent>): WebEvent => ({ id: 1, conversationId: "c", at: "", kind: "assistant", text: "hi", ...patch });
const end = (messageIds?: string[]) => event({ turnEnd: { outcome: "completed", canContinue: false, ...(messageIds ? { messageIds } : {}) } });

describe("the /v1 answer of a message", () => {
  it("is the turn end naming the message, among others it answered", () => {
    expect(answers("m2")(end(["m1", "m2"]))).toBe(true);
  });

  it("is not a turn end naming other messages, nor a cron run's naming none", () => {
    expect(answers("m2")(end(["m1"]))).toBe(false);
    expect(answers("m2")(end([]))).toBe(false);
  });

  it("is any turn end without ids (an older worker), and never an event that ends no turn", () => {
    expect(answers("m2")(end())).toBe(true);
    expect(answers("m2")(event({}))).toBe(false);
  });
});
