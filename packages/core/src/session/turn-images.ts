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

/** Workspace paths (`generated/…`) of the images the turn's stored answers saved, in order, each once. */
function turnImages(messages: readonly TranscriptMessage[], turnId: number): string[] {
  const paths: string[] = [];
  for (const answer of answersOfTurn(messages, turnId)) {
    for (const item of answer.content) {
      if (item.type !== "file" || !item.name) continue;
      const path = `${GENERATED_DIR}/${item.name}`;
      if (!paths.includes(path)) paths.push(path);
    }
  }
  return paths;
}

/**
 * The turn's images (saved by answers that came with tool calls, or carried from the turn it superseded)
 * the chat has not received: not yet delivered by a notice of the turn ending without a final answer
 * (`imagesSent`, stored with it).
 */
export function unsentTurnImages(messages: readonly TranscriptMessage[], turn: TurnRecord): string[] {
  const images = [...(turn.carriedImages ?? []), ...turnImages(messages, turn.turnId)];
  return images.filter((path, i) => images.indexOf(path) === i && !turn.imagesSent?.includes(path));
}

/**
 * What a turn ending without a final answer (failed, cancelled, superseded, given up) stores and
 * announces: its unsent images go out with the event, and are marked sent in the same commit, so a
 * continue's final answer does not send them again.
 */
export function deliverTurnImages(messages: readonly TranscriptMessage[], turn: TurnRecord): { imagesSent?: string[]; attachments?: string[] } {
  const images = unsentTurnImages(messages, turn);
  return images.length ? { imagesSent: [...(turn.imagesSent ?? []), ...images], attachments: images } : { imagesSent: turn.imagesSent };
}

/**
 * The final answer with an `<attachment>` line for each image an earlier answer of the turn saved (one
 * that came with tool calls) and no notice delivered yet: only the final answer's attachments reach the
 * chat. Read from the stored answers and turn, so it holds after a crash mid-turn; a tag the final answer
 * already has is not added again.
 */
export function withTurnImages(content: TranscriptItem[], messages: readonly TranscriptMessage[], turn: TurnRecord): TranscriptItem[] {
  const text = content.map((item) => (item.type === "text" ? item.text : "")).join("\n");
  const tags = unsentTurnImages(messages, turn)
    .map((path) => `<attachment>${path}</attachment>`)
    .filter((tag) => !text.includes(tag));
  return tags.length ? [...content, { type: "text", text: tags.join("\n") }] : content;
}
