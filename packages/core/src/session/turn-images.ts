import type { TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { GENERATED_DIR, generatedStamp } from "../media/generated-images.js";
import type { TurnRecord } from "../store/records.js";

/** The answers of turn `turnId` stored so far, oldest first (the turn is the latest: read from the transcript's end). */
function answersOfTurn(messages: readonly TranscriptMessage[], turnId: number): TranscriptMessage[] {
  const answers: TranscriptMessage[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.turnId !== undefined && m.turnId !== turnId) break;
    if (m.role === "assistant" && m.turnId === turnId) answers.unshift(m);
  }
  return answers;
}

/**
 * How the images of the turn's next answer are named: the turn's start, its id and the answer's number in
 * it (`20261130T235812-t4a2`). Step counts restart on a continue; the number of stored answers does not,
 * so a step retried after a crash (its answer never stored) gets the same names and finds its files.
 */
export function answerImageStamp(turn: TurnRecord, messages: readonly TranscriptMessage[]): string {
  return `${generatedStamp(new Date(turn.startedAt))}-t${turn.turnId}a${answersOfTurn(messages, turn.turnId).length + 1}`;
}

/**
 * The final answer with an `<attachment>` line for each image an earlier answer of the turn saved (one
 * that came with tool calls): only the final answer's attachments reach the chat. Read from the stored
 * answers, so it holds after a crash mid-turn; a tag the final answer already has is not added again.
 */
export function withTurnImages(content: TranscriptItem[], messages: readonly TranscriptMessage[], turnId: number): TranscriptItem[] {
  const text = content.map((item) => (item.type === "text" ? item.text : "")).join("\n");
  const tags: string[] = [];
  for (const answer of answersOfTurn(messages, turnId)) {
    for (const item of answer.content) {
      if (item.type !== "file" || !item.name) continue;
      const tag = `<attachment>${GENERATED_DIR}/${item.name}</attachment>`;
      if (!text.includes(tag) && !tags.includes(tag)) tags.push(tag);
    }
  }
  return tags.length ? [...content, { type: "text", text: tags.join("\n") }] : content;
}
