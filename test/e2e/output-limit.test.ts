// A reply the model stopped at its output limit (finish_reason "length", or a configured max_output_tokens the
// fake model honours): the user is told the answer stops there, instead of getting a silently cut answer; one the
// provider's content filter stopped says that instead; a tool call cut at the limit gets an argument error that
// says why, so the model can send less per call.
import { afterEach, describe, expect, it } from "vitest";
import { afterTool, contentText, lastUserText, wireMessages } from "./fixture.js";
import { sseChunk, type ScriptedReply } from "../fakes/openai-server.js";
import { startWebE2E, type WebE2E } from "./web-fixture.js";

/** A streamed reply that ends with `finish_reason: "length"`. */
const cut = (delta: Record<string, unknown>): ScriptedReply => ({
  raw: { steps: [sseChunk({ role: "assistant", content: "" }), sseChunk(delta), sseChunk({}, "length"), "data: [DONE]\n\n"] },
});
const ask = async (e2e: WebE2E, content: string): Promise<string> => {
  const res = await e2e.call("/v1/chat/completions", { method: "POST", json: { model: "main", messages: [{ role: "user", content }] } });
  expect(res.status).toBe(200);
  return (await res.json()).choices[0].message.content;
};

describe("a reply cut at the model's output limit", () => {
  let e2e: WebE2E | undefined;
  afterEach(async () => {
    await e2e?.close();
    e2e = undefined;
  });

  it("is answered with a note that it stops there; a complete one is not", async () => {
    e2e = await startWebE2E((req) => (lastUserText(req).includes("long") ? cut({ content: "Here are the first steps: 1. open" }) : { text: "Short and whole." }));
    await e2e.start();
    const long = await ask(e2e, "a long answer please");
    expect(long).toMatch(/^Here are the first steps: 1\. open\n\n⚠️ The answer stops here: the model reached its output limit/);
    expect(await ask(e2e, "a short one")).toBe("Short and whole.");
  }, 30_000);

  it("a configured max_output_tokens goes to the model, and the answer it cuts gets the note", async () => {
    e2e = await startWebE2E(() => ({ text: "Step one: open the box. Step two: take out the manual. Step three: read it." }), undefined, {}, { max_output_tokens: 6 });
    await e2e.start();
    const answer = await ask(e2e, "how do I start?");
    expect(e2e.model.requests[0]!.body["max_tokens"]).toBe(6);
    expect(answer).toBe("Step one: open the box.\n\n⚠️ The answer stops here: the model reached its output limit. Say “go on” for the rest.");
  }, 30_000);

  it("a reasoning model that spends its whole output limit reasoning (no text) gets the note, not a retried empty-reply failure", async () => {
    e2e = await startWebE2E(() => ({ raw: { steps: [sseChunk({ role: "assistant", content: "" }), sseChunk({ reasoning: "Let me weigh every option first" }), sseChunk({}, "length"), "data: [DONE]\n\n"] } }));
    await e2e.start();
    expect(await ask(e2e, "a hard one")).toBe("(The model finished without a text answer.)\n\n⚠️ The answer stops here: the model reached its output limit. Say “go on” for the rest.");
    expect(e2e.model.requests).toHaveLength(1);
  }, 30_000);

  it("an answer the provider's content filter stopped says so, not that there is more to ask for", async () => {
    e2e = await startWebE2E(() => ({ raw: { steps: [sseChunk({ role: "assistant", content: "" }), sseChunk({ content: "Here is how to" }), sseChunk({}, "content_filter"), "data: [DONE]\n\n"] } }));
    await e2e.start();
    const answer = await ask(e2e, "something the filter stops");
    expect(answer).toBe(
      "Here is how to\n\n⚠️ The answer stops here: the model provider's content filter stopped it. Asking for more will not bring the rest; rephrasing the request may help.",
    );
    expect(answer).not.toMatch(/output limit|go on/);
  }, 30_000);

  it("a tool call whose arguments were cut gets an error saying so, and the turn goes on", async () => {
    e2e = await startWebE2E((req) => {
      if (!afterTool(req)) {
        return cut({ tool_calls: [{ index: 0, id: "call_cut", type: "function", function: { name: "file_write", arguments: '{"file_path":"big.txt","content":"line 1\\nline 2' } }] });
      }
      const result = wireMessages(req).at(-1)!;
      return { text: `tool said: ${contentText(result)}` };
    });
    await e2e.start();
    const answer = await ask(e2e, "write a big file");
    expect(answer).toMatch(/Invalid arguments for file_write/);
    expect(answer).toMatch(/reached the output token limit and was cut off/);
  }, 30_000);
});
