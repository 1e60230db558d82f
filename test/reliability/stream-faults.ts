// Shared pieces of the raw-SSE provider nemeses (chat completions, Responses, Anthropic).
import { expect } from "vitest";
import type { TranscriptMessage } from "@starling/protocol";
import { transcript, userMessage, type WorkerUnderTest } from "../conformance/harness.js";
import type { RawStep, RecordedRequest } from "../fakes/scripted-server.js";

/** A raw reply: these steps, then `end`, `cut` or `stall`. */
export const raw = (steps: RawStep[], then: "end" | "cut" | "stall" = "end") => ({ raw: { steps, then } });

/** `body` written in pieces cut at these byte offsets, 20 ms apart (separate TCP writes). */
export function cutAt(body: Buffer, cuts: number[]): RawStep[] {
  const steps: RawStep[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    steps.push(body.subarray(from, cut), { pauseMs: 20 });
    from = cut;
  }
  steps.push(body.subarray(from));
  return steps;
}

/** The text the `oddly` cuts expect somewhere in the body: its first delta CRLF-terminated, its second not. */
export const ODD_TEXT = ["héllo 🌍", " wörld"] as const;

/**
 * `body` (holding ODD_TEXT, the first delta's event with CRLF line ends) cut into separate TCP writes
 * inside the name of the first `data:` field after byte `skip`, inside the 4-byte 🌍, between the
 * first CR and its LF, and inside the 2-byte ö.
 */
export function cutOddly(body: Buffer, skip: number): RawStep[] {
  return cutAt(body, [
    body.indexOf("data:", skip) + 2,
    body.indexOf(Buffer.from("🌍")) + 2,
    body.indexOf("\r\n") + 1,
    body.indexOf("wörld") + 2,
  ]);
}

/**
 * A file_write call's JSON arguments split oddly: an empty piece, cuts inside a key, inside a `\u`
 * escape, inside `\"` escapes, next to a 3-byte character and before a `\n` escape. The call writes
 * ODD_FILE.
 */
export const ODD_ARGUMENT_PIECES = ["", '{"file_pa', 'th": "out/n\\u00', 'f6te.txt", "con', 'tent": "a \\', '"quote\\" ✓', "\\n", '"}'];
export const ODD_FILE = { path: "out/nöte.txt", content: 'a "quote" ✓\n' };

/** The text of each assistant message of a transcript (non-text items as `[type]`). */
export const assistantTexts = (messages: TranscriptMessage[]) =>
  messages.filter((m) => m.role === "assistant").map((m) => m.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join(""));

/** A fake model of any wire format: every format's reply takes `text`. */
export interface AnyFake {
  /** The endpoint the worker calls. */
  url: string;
  requests: RecordedRequest[];
  push(reply: { text: string }): void;
}

/**
 * What reached the fake, as `METHOD /path`, against `n` calls of its endpoint. A request from another test's
 * client that found this fake on the port it expected (the web fixture's health checks were the stall test's
 * "31 model requests", ROAD_MAP) names itself here instead of only adding to a count.
 */
function expectModelCalls(fake: AnyFake, n: number, what?: string): void {
  const call = `POST ${new URL(fake.url).pathname}`;
  expect(fake.requests.map((r) => `${r.method} ${r.path}`), what).toEqual(Array<string>(n).fill(call));
}

/**
 * A user message whose turn fails on both attempts (the fake is scripted so): the failure offers
 * /continue, matches `failure` and names `problem`, nothing of the failed attempts is in the
 * transcript; then /continue records the next answer once.
 */
export async function failsThenContinues(fake: AnyFake, w: WorkerUnderTest, problem: RegExp, failure: Record<string, unknown> = {}): Promise<void> {
  await w.client.enqueue(userMessage("m1", "hi"));
  const failed = await w.waitForEvent("turn_failed", undefined, 30_000);
  expect(failed).toMatchObject({ canContinue: true, ...failure });
  expect(failed.error.message).toMatch(problem);
  expectModelCalls(fake, 2, "one attempt plus the configured retry");
  expect(assistantTexts(await transcript(w.client)), "nothing half-recorded").toEqual([]);

  fake.push({ text: "answer after continue" });
  expect(await w.client.continue()).toMatchObject({ accepted: true });
  await w.waitForEvent("turn_completed", undefined, 30_000);
  expect(assistantTexts(await transcript(w.client))).toEqual(["answer after continue"]);
}

/** The regexp for a turn whose last attempt hung before its headers (0.5 s: WireEnv's `fast`). */
export const NO_HEADERS = /no response headers from .* within 0\.5 s/;

/** A user message whose turn completes with exactly `text` (the worker asks for it with "hi"). */
export async function answers(w: WorkerUnderTest, text: string, message = "hi"): Promise<void> {
  await w.client.enqueue(userMessage("m1", message));
  const done = await w.waitForEvent("turn_completed", undefined, 30_000);
  expect(done.message.content).toEqual([{ type: "text", text }]);
}

/** The first attempt fails mid-stream: the retry's `text` is the answer and the only one stored, never the partial text. */
export async function retryAnswers(fake: AnyFake, w: WorkerUnderTest, text: string): Promise<void> {
  await answers(w, text);
  expectModelCalls(fake, 2);
  expect(assistantTexts(await transcript(w.client))).toEqual([text]);
}
