// A scripted OpenAI Responses API server on 127.0.0.1 for tests: SSE (response.created,
// output_item.added/done, output_text.delta, function_call_arguments.delta, image_generation_call progress, response.completed
// with usage) or one JSON response when the request does not stream. A reply's `reasoning` is sent when the request
// sets `reasoning`, encrypted when it asks for it; the rules for handing it back are in responses-reasoning.ts.
import type { ServerResponse } from "node:http";
import { openAIImageRefusal } from "./openai-image-limits.js";
import { openRouterToolBlocksRefusal } from "./anthropic-tool-blocks.js";
import { underLimit } from "./output-limit.js";
import { asksEncryptedReasoning, encryptedReasoning, IssuedReasoning } from "./responses-reasoning.js";
import { sendJson, sendSse, sendTruncatedJson, split, startScriptedServer, type BaseReply, type ScriptedServer, type ScriptedServerOptions, type SseOut } from "./scripted-server.js";

export interface ResponsesReply extends BaseReply {
  text?: string;
  /** A reasoning item before the output (when the request sets `reasoning`): its thought, encrypted with `include`. */
  reasoning?: { thought: string; summary?: string[] };
  functionCalls?: Array<{ name: string; arguments: Record<string, unknown>; callId?: string }>;
  usage?: { input_tokens: number; output_tokens: number; cached_tokens?: number };
  /** Split text and argument strings into deltas of this size (default 8). */
  chunkChars?: number;
  /**
   * End with `response.failed` carrying this error instead of `response.completed`; with `event: "error"`, with
   * an `error` event carrying it in `error` (OpenRouter's in-stream shape; `metadata.raw` is the upstream body).
   */
  failWith?: { code: string | number; message: string; metadata?: Record<string, unknown>; event?: "error" | "response.failed" };
  /**
   * End with `response.incomplete` (status `incomplete`) for this `incomplete_details.reason` (`content_filter`,
   * or `max_output_tokens`, which a request's `max_output_tokens` sets when it cuts the text).
   */
  incomplete?: string;
  /**
   * Images the model generated (OpenAI's image_generation tool): one `image_generation_call` output item each,
   * after the text, with the image as base64 in `result` and its `output_format` (png when not given).
   */
  images?: Array<{ base64: string; format?: string }>;
}

export interface FakeResponses extends ScriptedServer<ResponsesReply> {
  /** Full endpoint: `http://127.0.0.1:<port>/v1/responses`. */
  url: string;
}

export async function startFakeResponses(opts: ScriptedServerOptions<ResponsesReply> & { apiKey?: string } = {}): Promise<FakeResponses> {
  const issued = new IssuedReasoning();
  const server = await startScriptedServer<ResponsesReply>(
    {
      checkAuth: (req) =>
        opts.apiKey !== undefined && req.headers["authorization"] !== `Bearer ${opts.apiKey}`
          ? { status: 401, body: { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } } }
          : null,
      refuse: async (req) => {
        const body = (await openAIImageRefusal(req.body)) ?? openRouterToolBlocksRefusal(req.body);
        if (body) return { status: 400, body };
        const reasoning = issued.refusal(req.body);
        return reasoning ? { status: 400, body: { error: { ...reasoning, type: "invalid_request_error", param: "input" } } } : null;
      },
      errorBody: (status, message) => ({ error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", code: status } }),
      render: (res, scripted, index, req) => {
        const limited = underLimit(scripted, req.body["max_output_tokens"], "functionCalls", { incomplete: "max_output_tokens" });
        const reply = withReasoning(limited, index, req.body, issued);
        return req.body["stream"] === true ? stream(res, reply, index) : whole(res, reply, index);
      },
    },
    opts,
  );
  return { ...server, url: `${server.origin}/v1/responses` };
}

type Item = Record<string, unknown>;
/** A reply with its reasoning item as this request gets it (withReasoning). */
type Rendered = ResponsesReply & { reasoningItem?: Item };

/** The reply as this request gets it: reasoning only when asked for, encrypted (and recorded) only with `include`. */
function withReasoning(reply: ResponsesReply, index: number, body: Item, issued: IssuedReasoning): Rendered {
  const { reasoning, ...rest } = reply;
  if (!reasoning || body["reasoning"] === undefined || body["reasoning"] === null) return rest;
  const summary = (reasoning.summary ?? []).map((text) => ({ type: "summary_text", text }));
  const reasoningItem: Item = { type: "reasoning", id: `rs_${index}`, summary };
  if (asksEncryptedReasoning(body)) {
    reasoningItem["encrypted_content"] = encryptedReasoning(reasoning.thought);
    issued.record(body, reasoningItem["encrypted_content"] as string, (reply.functionCalls ?? []).map((call, i) => call.callId ?? `call_${index}_${i}`));
  }
  return { ...rest, reasoningItem };
}

function outputItems(reply: Rendered, index: number): Item[] {
  const items: Item[] = reply.reasoningItem ? [reply.reasoningItem] : [];
  if (reply.text) {
    items.push({ type: "message", id: `msg_${index}`, role: "assistant", status: "completed", content: [{ type: "output_text", text: reply.text, annotations: [] }] });
  }
  (reply.images ?? []).forEach((image, i) => {
    items.push({ type: "image_generation_call", id: `ig_${index}_${i}`, status: "completed", output_format: image.format ?? "png", result: image.base64 });
  });
  (reply.functionCalls ?? []).forEach((call, i) => {
    items.push({ type: "function_call", id: `fc_${index}_${i}`, call_id: call.callId ?? `call_${index}_${i}`, name: call.name, arguments: JSON.stringify(call.arguments), status: "completed" });
  });
  return items;
}

function responseObject(reply: ResponsesReply, index: number, output: Item[], status = reply.incomplete ? "incomplete" : "completed"): Item {
  const usage = reply.usage ?? { input_tokens: 10, output_tokens: 5 };
  return {
    id: `resp_${index}`,
    object: "response",
    status,
    ...(reply.incomplete && status === "incomplete" ? { incomplete_details: { reason: reply.incomplete } } : {}),
    model: "fake-responses",
    output,
    usage: {
      input_tokens: usage.input_tokens,
      input_tokens_details: { cached_tokens: usage.cached_tokens ?? 0 },
      output_tokens: usage.output_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input_tokens + usage.output_tokens,
    },
  };
}

function stream(res: ServerResponse, reply: Rendered, index: number): void {
  const events = responsesEvents(reply, index);
  sendSse(res, events, reply.dropConnection ? { dropAfter: 3 } : reply.stallAfterEvents !== undefined ? { stallAfter: reply.stallAfterEvents } : {});
}

/** The events of a streamed reply, `response.created` to `response.completed` (raw-mode scripts format them with `sseText`). */
export function responsesEvents(reply: Rendered, index = 0): SseOut[] {
  const size = Math.max(1, reply.chunkChars ?? 8);
  const events: SseOut[] = [];
  const add = (type: string, data: Record<string, unknown>): void => void events.push({ event: type, data: { type, ...data } });
  add("response.created", { response: responseObject(reply, index, [], "in_progress") });
  const items = outputItems(reply, index);
  items.forEach((item, outputIndex) => {
    if (item["type"] === "reasoning") {
      // The added item is not complete yet: the encrypted content comes with `.done`.
      add("response.output_item.added", { output_index: outputIndex, item: { type: "reasoning", id: item["id"], summary: [] } });
    } else if (item["type"] === "message") {
      add("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", content: [] } });
      for (const piece of split(reply.text ?? "", size)) {
        add("response.output_text.delta", { item_id: item["id"], output_index: outputIndex, content_index: 0, delta: piece });
      }
    } else if (item["type"] === "image_generation_call") {
      // The image comes whole with `.done` (`result`); the events before only report progress.
      add("response.output_item.added", { output_index: outputIndex, item: { type: item["type"], id: item["id"], status: "in_progress" } });
      for (const phase of ["in_progress", "generating", "completed"]) add(`response.image_generation_call.${phase}`, { item_id: item["id"], output_index: outputIndex });
    } else {
      add("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", arguments: "" } });
      for (const piece of split(String(item["arguments"]), size)) {
        add("response.function_call_arguments.delta", { item_id: item["id"], output_index: outputIndex, delta: piece });
      }
      add("response.function_call_arguments.done", { item_id: item["id"], output_index: outputIndex, arguments: item["arguments"] });
    }
    add("response.output_item.done", { output_index: outputIndex, item });
  });
  if (reply.failWith) {
    const { event, ...error } = reply.failWith;
    if (event === "error") add("error", { error });
    else add("response.failed", { response: { ...responseObject(reply, index, [], "failed"), error } });
  }
  else add(reply.incomplete ? "response.incomplete" : "response.completed", { response: responseObject(reply, index, items) });
  return events;
}

function whole(res: ServerResponse, reply: Rendered, index: number): void {
  const body = responseObject(reply, index, outputItems(reply, index));
  if (reply.dropConnection) sendTruncatedJson(res, body);
  else sendJson(res, 200, body);
}
