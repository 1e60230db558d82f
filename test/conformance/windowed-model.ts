// A fake model with a context window: it refuses any request over the window with OpenAI's error
// (context_length_exceeded, stating the window or not), and the long histories the window tests build.
import { expect } from "vitest";
import type { InitializeParams } from "@starling/protocol";
import type { RecordedRequest, Responder, ScriptedReply } from "../fakes/openai-server.js";
import { modelConfig, newEnv, until, userMessage, type TestEnv, type WorkerUnderTest } from "./harness.js";
import { isSummaryRequest, wireMessages } from "./model-script.js";

/** Tokens of a request as the fake counts them: 4 bytes of the JSON body per token (what the heuristic estimator assumes). */
export const bodyTokens = (req: RecordedRequest) => Math.ceil(req.rawBody.length / 4);

/** A model with a window of `window` tokens: a longer request is refused as OpenAI does (400 context_length_exceeded). */
export interface WindowedModel extends Responder {
  refused: RecordedRequest[];
  /** The summary each summary request got. */
  summaryOf: Map<RecordedRequest, string>;
  /** Summary requests from this number on (counted from 1 over the model's life) get no answer. */
  hangFromSummary: number | null;
  /** The usage the next answer reports (then the fake's own estimate again). */
  nextUsage: { prompt_tokens: number; completion_tokens: number } | null;
}

/** `statesWindow: false`: the refusal does not say how long the window is (only that the request is too long). */
export function windowedModel(window: (req: RecordedRequest) => number, statesWindow = true): WindowedModel {
  const refused: RecordedRequest[] = [];
  const summaryOf = new Map<RecordedRequest, string>();
  const model: WindowedModel = Object.assign((req: RecordedRequest): ScriptedReply => {
    const tokens = bodyTokens(req);
    const limit = window(req);
    if (tokens > limit) {
      refused.push(req);
      return {
        status: 400,
        errorBody: {
          error: {
            message: statesWindow
              ? `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`
              : "Input is too long for requested model.",
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded",
          },
        },
      };
    }
    if (isSummaryRequest(req) && model.hangFromSummary !== null && summaryOf.size + 1 >= model.hangFromSummary) return { hang: true };
    if (isSummaryRequest(req)) {
      const text = `SUMMARY #${summaryOf.size + 1}: the user asked for things.`;
      summaryOf.set(req, text);
      return { text };
    }
    const usage = model.nextUsage ?? undefined;
    model.nextUsage = null;
    return { text: `ok ${wireMessages(req).length}`, usage };
  }, { refused, summaryOf, hangFromSummary: null, nextUsage: null });
  return model;
}

export const ended = (w: WorkerUnderTest, turnId: number) =>
  until(`turn ${turnId} ends`, () => [...w.eventsOf("turn_completed"), ...w.eventsOf("turn_failed")].some((e) => e.turnId === turnId));

export const words = (n: number, tag: string) => `${tag}: ` + "Some context about the task that makes it longer. ".repeat(Math.ceil(n / 50));

export function withWindow(url: string, window: number): InitializeParams["model"] {
  return { ...modelConfig(url), token_max_context: window } as InitializeParams["model"];
}

/** Messages of a history built with a big window: one pasted text of ~20k tokens among ordinary messages, ~45k tokens in all. */
export const HISTORY = [words(2_000, "first ask"), words(80_000, "pasted report"), ...Array.from({ length: 12 }, (_, i) => words(8_000, `ask ${i}`))];

export async function buildLongHistory(start: TestEnv["start"], url: string): Promise<void> {
  const big = await start({ init: { model: withWindow(url, 1_000_000) } });
  for (const [i, text] of HISTORY.entries()) {
    await big.client.enqueue(userMessage(`h${i}`, text));
    await ended(big, i + 1);
  }
  await big.client.close();
}

/**
 * A long history built with a big window, then a worker whose model has no `token_max_context` (only the
 * provider's refusal says the history is too long) and a window of `window` tokens answering one message.
 */
export async function unconfiguredAfterLongHistory(ctx: Parameters<typeof newEnv>[0], statesWindow: boolean, window: number) {
  let current = 1_000_000;
  const model = windowedModel(() => current, statesWindow);
  const { fake, start } = await newEnv(ctx, { responder: model });
  await buildLongHistory(start, fake.url);
  current = window;
  const before = fake.requests.length;
  const w = await start({ init: { model: modelConfig(fake.url) } });
  await w.client.enqueue(userMessage("after", "and now?"));
  await ended(w, HISTORY.length + 1);
  expect(w.eventsOf("turn_failed").map((e) => e.error), "the turn does not fail").toEqual([]);
  return { model, w, sent: fake.requests.slice(before) };
}
