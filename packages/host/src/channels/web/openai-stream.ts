import type { DeltaView } from "./event-stream.js";

const TAG = "<attachment>";

/**
 * The part of a model call's text that is safe to send before the final answer is known: up to an
 * `<attachment>` tag (the final answer has it removed) or a trailing piece that may begin one, without
 * trailing whitespace (the final answer is trimmed).
 */
function sendable(text: string): string {
  let cut = text.toLowerCase().indexOf(TAG);
  if (cut < 0) {
    cut = text.length;
    const lt = text.lastIndexOf("<");
    if (lt >= 0 && TAG.startsWith(text.slice(lt).toLowerCase())) cut = lt;
  }
  return text.slice(0, cut).trimEnd();
}

/**
 * What an OpenAI `stream: true` client has been sent of a turn's text, so it gets the answer as the
 * model writes it and, at the end, only what is still missing. Each model call's text is followed in
 * place; a retry that repeats what was sent sends nothing twice; a later step (after tool calls)
 * starts a new paragraph. When the final answer does not continue what was sent (a retry that wrote
 * something else), the answer follows after a blank line. Only the text of the turn that answers the
 * request's message is followed: a turn the message interrupts may still start a model call before the
 * worker sees the message; a turn whose start the host did not see sends its answer at the end.
 */
export class StreamedAnswer {
  private step = 0;
  /** The current model call's text as received. */
  private callText = "";
  /** What was sent of the current step's text. */
  private stepSent = "";
  private anySent = false;

  constructor(
    private readonly messageId: string,
    private readonly send: (content: string) => void,
  ) {}

  /** `answers`: the client message ids the piece's turn answers (undefined: not known). */
  delta(d: DeltaView, answers: readonly string[] | undefined): void {
    if (!answers?.includes(this.messageId)) return;
    if (d.offset === 0) this.callText = "";
    else if (d.offset !== this.callText.length) return; // a piece from before this stream's start
    this.callText += d.text;
    if (d.step !== this.step) {
      this.step = d.step;
      this.stepSent = "";
      if (this.anySent) this.send("\n\n");
    }
    let visible = sendable(this.callText);
    if (!this.anySent) visible = visible.trimStart();
    if (visible.startsWith(this.stepSent) && visible.length > this.stepSent.length) {
      this.send(visible.slice(this.stepSent.length));
      this.stepSent = visible;
      this.anySent = true;
    }
  }

  /** The turn's final answer: what the client has not seen of it. */
  finish(answer: string): void {
    if (answer.startsWith(this.stepSent)) {
      const rest = answer.slice(this.stepSent.length);
      if (rest) this.send(rest);
    } else this.send(`\n\n${answer}`);
  }
}
