// What a `stream: true` OpenAI client is sent of a turn's text: pieces as they come, then only the
// missing rest of the final answer; retries send nothing twice; attachment tags are held back.
import { describe, expect, it } from "vitest";
import type { TurnActivity } from "../../src/channels/channel.js";
import { EventHub } from "../../src/channels/web/event-stream.js";
import { StreamedAnswer } from "../../src/channels/web/openai-stream.js";

function client() {
  const sent: string[] = [];
  const answer = new StreamedAnswer("m1", (content) => sent.push(content));
  let call = "";
  /** One piece of the model call's text (`restart`: a new call starts its text again). */
  const piece = (text: string, step = 1, restart = false) => {
    if (restart) call = "";
    answer.delta({ conversationId: "c", turnKey: "k", step, offset: call.length, text }, ["m1"]);
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

  it("follows only the turn that answers the request's message, as the event hub names it", () => {
    const hub = new EventHub();
    const sent: string[] = [];
    const answer = new StreamedAnswer("m2", (content) => sent.push(content));
    hub.subscribe("c", { written: () => undefined, progress: () => undefined, delta: (d, answers) => answer.delta(d, answers) });
    const chat: TurnActivity["chat"] = { channelId: "web", chatId: "c", type: "private", title: "c" };
    const start = (turnKey: string, answers?: string[]) =>
      hub.progress({ chat, conversationId: "c", turnKey, model: "m", phase: "calling_model", step: 1, startedAt: Date.now() }, answers);
    const piece = (turnKey: string, text: string) => hub.delta({ chat, conversationId: "c", turnKey, text });
    // The turn of an earlier message starts a model call after the request's message was stored.
    start("s@0#1", ["m1"]);
    piece("s@0#1", "Old answer ");
    piece("s@0#1", "goes on");
    // A turn whose start the hub did not see (its text is sent at the end instead).
    piece("s@0#9", "Unknown turn");
    expect(sent).toEqual([]);
    // The turn that took over answers both messages.
    start("s@0#2", ["m1", "m2"]);
    piece("s@0#2", "New ");
    piece("s@0#2", "answer");
    answer.finish("New answer.");
    expect(sent.join("")).toBe("New answer.");
  });
});
