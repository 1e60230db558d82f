import type { FastifyInstance, FastifyReply } from "fastify";
import type { EventHub } from "./event-stream.js";
import { HttpError } from "./http-error.js";
import { filesMarkdown, replyFiles } from "./answer-files.js";
import { StreamedAnswer } from "./openai-stream.js";
import { ChatCompletionRequest, isBlank, parseBody } from "./schemas.js";
import type { WebConversations } from "./web-conversations.js";
import type { WebEvent } from "./web-log.js";

/** How long a completion request waits for its turn before answering 504 (the turn goes on). */
const MAX_WAIT_MS = 30 * 60_000;

/**
 * `POST /v1/chat/completions` (ARCHITECTURE §11): `model` is `conv:<id>` (that conversation) or a
 * model alias (a new conversation, named in the `x-starling-conversation` header and the
 * `starling.conversation_id` field). Only the last user message is sent: the conversation keeps its
 * own history. With `stream: true` the answer comes as OpenAI chunks as the model writes it (the
 * worker's text deltas), then what is still missing of the final answer, then the files the answer
 * carried as markdown links (answer-files.ts), `finish_reason: "stop"`, `[DONE]`. `token` signs the links.
 */
export function openAIRoutes(app: FastifyInstance, convs: WebConversations, hub: EventHub, token: string): void {
  app.get("/v1/models", async () => ({
    object: "list",
    data: convs.modelAliases().map((id) => ({ id, object: "model", created: 0, owned_by: "starling" })),
  }));

  app.post("/v1/chat/completions", async (req, reply) => {
    const body = parseBody(ChatCompletionRequest, req);
    const last = [...body.messages].reverse().find((m) => m.role === "user");
    const text = typeof last?.content === "string" ? last.content : (last?.content ?? []).map((p) => p.text ?? "").join("\n");
    if (isBlank(text)) throw new HttpError(400, "invalid_request", "messages: no user message with text content", "messages");
    const conv = /^conv:(.+)$/.exec(body.model);
    if (!conv && !convs.modelAliases().includes(body.model)) {
      throw new HttpError(404, "model_not_found", `model: "${body.model}" is neither conv:<conversation id> nor a model alias (${convs.modelAliases().join(", ")})`, "model");
    }
    const header = req.headers["idempotency-key"];
    const idempotencyKey = typeof header === "string" ? header : undefined;
    const conversation = conv ? await convs.get(conv[1]!) : await convs.createKeyed(idempotencyKey, body.model);
    const latest = convs.webLog.latestId;
    const posted = await convs.post(conversation, text, idempotencyKey, []);
    // The answer is the turn end after the message that names it (ends, below); a retry admitted only now (a
    // limit refused its first attempt, whose event stays where it was) waits for one after this request.
    const after = posted.status === "duplicate" ? posted.eventId : Math.max(posted.eventId, latest);
    if (posted.status === "refused") throw new HttpError(429, "rate_limit_exceeded", "the message was refused by a limit (see the conversation's events); retry later");
    if (posted.status === "command") {
      const model = conversation.modelAlias ?? body.model;
      const id = `cmd-${posted.eventId}`;
      if (!body.stream) return reply.send(completion(conversation.id, id, model, posted.reply ?? ""));
      // A streaming client reads chunks only: the command's answer as one.
      const { res, chunk } = openStream(reply, conversation.id, id, model);
      res.write(chunk({ content: posted.reply ?? "" }, null));
      res.end(`${chunk({}, "stop")}data: [DONE]\n\n`);
      return;
    }

    const abort = new AbortController();
    reply.raw.on("close", () => abort.abort(new Error("client went away")));
    const timer = setTimeout(() => abort.abort(new Error("timed out")), MAX_WAIT_MS);
    const ends = answers(posted.messageId);
    const model = conversation.modelAlias ?? body.model;
    const id = `chatcmpl-${conversation.id}-${posted.eventId}`;
    reply.header("x-starling-conversation", conversation.id);
    // The files of the turn's answer (or failure notice), as links a client can open without our token.
    const links = async (end: WebEvent) => filesMarkdown(await replyFiles(convs.webLog, end), `${req.protocol}://${req.headers.host ?? "localhost"}`, token);
    if (!body.stream) {
      const end = await hub.waitFor(convs.webLog, conversation.id, after, ends, abort.signal).catch(() => {
        throw new HttpError(504, "timeout", `no answer yet; the turn goes on in conversation ${conversation.id} (model conv:${conversation.id})`);
      }).finally(() => clearTimeout(timer));
      const files = await links(end);
      if (end.turnEnd?.outcome !== "completed") throw new HttpError(502, "turn_failed", end.text + files, undefined);
      return reply.send(completion(conversation.id, id, model, end.text + files));
    }
    const { res, chunk } = openStream(reply, conversation.id, id, model);
    const answer = new StreamedAnswer(posted.messageId, (content) => res.write(chunk({ content }, null)));
    const unsubscribe = hub.subscribe(conversation.id, { written: () => undefined, progress: () => undefined, delta: (d, answers) => answer.delta(d, answers) });
    try {
      const end = await hub.waitFor(convs.webLog, conversation.id, after, ends, abort.signal);
      unsubscribe();
      const files = await links(end);
      if (end.turnEnd?.outcome === "completed") {
        answer.finish(end.text);
        if (files) res.write(chunk({ content: files }, null));
        res.write(chunk({}, "stop"));
      } else res.write(`data: ${JSON.stringify({ error: { message: end.text + files, type: "server_error", param: null, code: "turn_failed" } })}\n\n`);
      res.end("data: [DONE]\n\n");
    } catch {
      res.end();
    } finally {
      unsubscribe();
      clearTimeout(timer);
    }
  });
}

/**
 * Whether a web log event is the end of the turn that answered client message `messageId`: a turn end
 * naming it. One without `messageIds` (an older worker's, or written by an older host) is taken as
 * before: the first turn end after the message.
 */
export function answers(messageId: string): (e: WebEvent) => boolean {
  return (e) => e.turnEnd !== undefined && (e.turnEnd.messageIds?.includes(messageId) ?? true);
}

/** Starts a `stream: true` answer: the SSE head and the role chunk; `chunk` formats the next ones. */
function openStream(reply: FastifyReply, conversationId: string, id: string, model: string) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-starling-conversation": conversationId });
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: "assistant", content: "" }, null));
  return { res, chunk };
}

function completion(conversationId: string, id: string, model: string, text: string) {
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    starling: { conversation_id: conversationId },
  };
}
