import { realpathSync, statSync } from "node:fs";
import { relative, sep } from "node:path";
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { openCheckedFile } from "../attachments.js";
import type { EventHub } from "./event-stream.js";
import { streamEvents } from "./event-stream.js";
import { downloadType } from "./file-links.js";
import { HttpError } from "./http-error.js";
import { StreamSlots } from "./stream-slots.js";
import { Callback, CreateConversation, isBlank, Paging, parse, parseBody, PatchConversation, PathQuery, PostMessage, UPLOAD_LIMIT_BYTES } from "./schemas.js";
import type { WebConversations } from "./web-conversations.js";
import { changedHttpError, listWorkspaceFolder } from "./workspace-listing.js";
import { discardRest, uploadTooLarge, writeUpload } from "./workspace-upload.js";

type IdParams = { id: string };

/** The `/api` routes (ARCHITECTURE §11, docs/web-api.md). */
export function apiRoutes(app: FastifyInstance, convs: WebConversations, hub: EventHub, models: () => { alias: string; model: string }[]): void {
  const streams = new StreamSlots();
  app.get("/api/health", async () => ({ ok: true }));
  app.get("/api/models", async () => ({ models: models() }));

  app.get("/api/conversations", async () => ({ conversations: await convs.list() }));
  app.post("/api/conversations", async (req, reply) => {
    const body = parseBody(CreateConversation, req);
    const conversation = await convs.create(body.title, body.model);
    return reply.code(201).send({ conversation_id: conversation.id, ...(await convs.summary(conversation)) });
  });
  app.patch<{ Params: IdParams }>("/api/conversations/:id", async (req) => {
    const body = parseBody(PatchConversation, req);
    await convs.update(await convs.get(req.params.id), body);
    return convs.summary(await convs.get(req.params.id));
  });
  app.delete<{ Params: IdParams }>("/api/conversations/:id", async (req, reply) => {
    await convs.remove(await convs.get(req.params.id));
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>("/api/conversations/:id/messages", async (req, reply) => {
    const conversation = await convs.get(req.params.id);
    const body = parseBody(PostMessage, req);
    if (isBlank(body.text) && !body.attachments?.length) throw new HttpError(400, "invalid_request", "text: empty message; send text or attachments", "text");
    const result = await convs.post(conversation, body.text, body.message_id, body.attachments ?? []);
    const out = { message_id: result.messageId, event_id: result.eventId, status: result.status, ...(result.reply ? { reply: result.reply } : {}) };
    return reply.code(result.status === "refused" ? 429 : result.status === "duplicate" ? 200 : 202).send(out);
  });
  app.get<{ Params: IdParams }>("/api/conversations/:id/messages", async (req) => {
    const conversation = await convs.get(req.params.id);
    const q = parse(Paging, req.query, "query");
    if (q.after !== undefined) {
      const page = await convs.webLog.after(conversation.id, q.after, q.limit + 1);
      return { messages: page.slice(0, q.limit), has_more: page.length > q.limit };
    }
    const page = await convs.webLog.before(conversation.id, q.before ?? Number.POSITIVE_INFINITY, q.limit + 1);
    return { messages: page.slice(-q.limit), has_more_before: page.length > q.limit };
  });
  app.get<{ Params: IdParams; Querystring: { after?: string } }>("/api/conversations/:id/events", async (req, reply) => {
    const conversation = await convs.get(req.params.id);
    const header = req.headers["last-event-id"];
    const raw = (Array.isArray(header) ? header[0] : header) ?? req.query.after ?? "0";
    const after = Number(raw);
    if (!Number.isInteger(after) || after < 0) throw new HttpError(400, "invalid_request", `Last-Event-ID: "${raw}" is not an event id`, "Last-Event-ID");
    const free = streams.take(conversation.id);
    reply.hijack();
    reply.raw.on("close", free);
    // A client gone while the conversation was looked up: its close came before anyone listened.
    if (reply.raw.destroyed || req.raw.socket.destroyed) return free();
    streamEvents(reply.raw, hub, convs.webLog, conversation.id, after);
  });

  for (const name of ["cancel", "continue"] as const) {
    app.post<{ Params: IdParams }>(`/api/conversations/:id/${name}`, async (req) => {
      const reply = await convs.command(await convs.get(req.params.id), name, "");
      return { text: reply.text };
    });
  }
  app.get<{ Params: IdParams }>("/api/conversations/:id/status", async (req) => {
    const conversation = await convs.get(req.params.id);
    const reply = await convs.command(conversation, "status", "");
    return { text: reply.text, model: conversation.modelAlias, progress: hub.current(conversation.id) ?? null };
  });
  app.post<{ Params: IdParams }>("/api/conversations/:id/callback", async (req) => {
    const body = parseBody(Callback, req);
    const reply = await convs.callback(await convs.get(req.params.id), body.data);
    return { text: reply.text };
  });

  app.get<{ Params: IdParams }>("/api/conversations/:id/workspace", async (req) => {
    const conversation = await convs.get(req.params.id);
    const { path } = parse(PathQuery, req.query, "query");
    const dir = convs.workspaceFile(conversation, path);
    if (!statSync(dir).isDirectory()) throw new HttpError(400, "invalid_path", `"${path}" is a file; download it from …/workspace/file?path=`, "path");
    const entries = await listWorkspaceFolder(dir, path === ".", path);
    return { path: relative(convs.workspaceDir(conversation), dir) || ".", entries };
  });
  app.get<{ Params: IdParams }>("/api/conversations/:id/workspace/file", async (req, reply) => {
    const conversation = await convs.get(req.params.id);
    const { path } = parse(PathQuery, req.query, "query");
    const file = convs.workspaceFile(conversation, path);
    if (!statSync(file).isFile()) throw new HttpError(400, "invalid_path", `"${path}" is not a file`, "path");
    const name = file.split("/").pop() ?? "file";
    // Sent through a descriptor that is still the checked file (a tool may swap it for a link or a FIFO meanwhile).
    const handle = await openCheckedFile(file).catch((error: unknown) => {
      throw changedHttpError(path, error);
    });
    return reply
      .header("content-type", downloadType(name))
      .header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
      .send(handle.createReadStream());
  });
  // Uploads in a scope of their own, where any body comes as a stream: written to disk as it arrives.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
    scope.post<{ Params: IdParams }>("/api/conversations/:id/workspace/file", async (req, reply) => {
      const conversation = await convs.get(req.params.id);
      const { path } = parse(PathQuery, req.query, "query");
      if (path === ".") throw new HttpError(400, "invalid_request", "path: name the file to write (…/workspace/file?path=notes/a.txt)", "path");
      const target = convs.workspaceFile(conversation, path, false);
      const root = realpathSync(convs.workspaceDir(conversation));
      // .starling/ holds the session's own database and process ledger: a write there could break the session.
      if (relative(root, target).split(sep)[0] === ".starling") {
        throw new HttpError(403, "forbidden_path", `path: "${path}" is inside .starling/, the session's own state; write somewhere else in the workspace`, "path");
      }
      if (!(req.body instanceof Readable)) throw new HttpError(400, "invalid_request", "body: send the file's bytes (Content-Type: application/octet-stream)");
      if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new HttpError(400, "invalid_path", `path: "${path}" is a folder; name a file in it`, "path");
      const declared = Number(req.headers["content-length"]);
      if (declared > UPLOAD_LIMIT_BYTES) {
        // Refused before a byte is written. A body up to twice the limit is read and dropped, so the client,
        // still sending, gets the 413 (fetch reported EPIPE instead when the connection closed under it); a
        // larger one is cut off with the answer.
        if (declared <= 2 * UPLOAD_LIMIT_BYTES) discardRest(req.body, declared);
        else reply.header("connection", "close");
        throw uploadTooLarge(UPLOAD_LIMIT_BYTES, `${req.headers["content-length"]} bytes`);
      }
      const size = await writeUpload({ root, target, path, body: req.body, limit: UPLOAD_LIMIT_BYTES });
      return reply.code(201).send({ path: relative(root, target), size });
    });
  });
}
