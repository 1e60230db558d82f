// What a `stream: true` OpenAI client is sent of a turn's text: pieces as they come, then only the
// missing rest of the final answer; retries send nothing twice; attachment tags are held back.
import { describe, expect, it } from "vitest";
import { StreamedAnswer } from "../../src/channels/web/openai-stream.js";

function client() {
  const sent: string[] = [];
  const answer = new StreamedAnswer((content) => sent.push(content));
  let call = "";
  /** One piece of the model call's text (`restart`: a new call starts its text again). */
  const piece = (text: string, step = 1, restart = false) => {
    if (restart) call = "";
    answer.delta({ conversationId: "c", turnKey: "k", step, offset: call.length, text });
    call += text;
  };
  return { sent, answer, piece, content: () => sent.join("") };
}

describe("StreamedAnswer", () => {
  it("streams the pieces and sends only what is missing at the end", () => {
    const c = client();
    c.piece("Hello ");
    c.piece("wor");
    c.answer.finish("Hello world.");
    expect(c.sent.length).toBeGreaterThanOrEqual(3);
    expect(c.content()).toBe("Hello world.");
  });

  it("a retry that repeats the text sends nothing twice", () => {
    const c = client();
    c.piece("The answer");
    c.piece(" is", 1);
    c.piece("The answer", 1, true);
    c.piece(" is 42", 1);
    c.answer.finish("The answer is 42");
    expect(c.content()).toBe("The answer is 42");
  });

  it("holds back an attachment tag and trailing whitespace (the final answer has neither)", () => {
    const c = client();
    c.piece("Here it is:\n<atta");
    expect(c.content()).toBe("Here it is:");
    c.piece("chment>a.png</attachment>");
    c.answer.finish("Here it is:");
    expect(c.content()).toBe("Here it is:");
  });

  it("a later step starts a new paragraph; a final answer that does not continue the text follows it", () => {
    const c = client();
    c.piece("Let me look.", 1);
    c.piece("Found it", 2, true);
    c.answer.finish("Found it: 3 files.");
    expect(c.content()).toBe("Let me look.\n\nFound it: 3 files.");
    const d = client();
    d.piece("First try", 1);
    d.piece("Other words", 1, true);
    d.answer.finish("Other words entirely");
    expect(d.content()).toBe("First try\n\nOther words entirely");
  });
});
