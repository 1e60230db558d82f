import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type pino from "pino";
import { HttpError } from "./http-error.js";
import { WEB_BODY_LIMIT_BYTES } from "./schemas.js";
import { signedFileRequest } from "./file-links.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Bearer-token check in constant time (both sides hashed first, so lengths never differ). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return timingSafeEqual(digest(m?.[1]?.trim() ?? ""), digest(token)) && m !== null;
}

const isOpenAI = (url: string) => url.startsWith("/v1/");

/** The error body: OpenAI's shape under /v1, `{error: {code, message}}` elsewhere. */
export function sendError(reply: FastifyReply, url: string, status: number, code: string, message: string, param?: string): FastifyReply {
  if (isOpenAI(url)) {
    const type = status === 401 ? "authentication_error" : status === 404 ? "not_found_error" : status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
    return reply.code(status).send({ error: { message, type, param: param ?? null, code } });
  }
  return reply.code(status).send({ error: { code, message, ...(param ? { field: param } : {}) } });
}

/** Fastify with auth on everything but the page (and signed file links, file-links.ts), clear errors, JSON size limits and no CORS headers. */
export function createWebServer(token: string, log: pino.Logger): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: WEB_BODY_LIMIT_BYTES, return503OnClosing: true, forceCloseConnections: true });
  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split("?")[0]!;
    if (req.method === "GET" && (path === "/" || path.startsWith("/assets/"))) return;
    if (signedFileRequest(req.method, req.url, token)) return;
    if (!tokenMatches(req.headers.authorization, token)) {
      reply.header("www-authenticate", 'Bearer realm="starling"');
      return sendError(reply, req.url, 401, "unauthorized", "missing or wrong bearer token: send Authorization: Bearer <the value of the channel's token_env>");
    }
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, req.url, 404, "not_found", `no route ${req.method} ${req.url.split("?")[0]}; see docs/web-api.md`));
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, req.url, err.status, err.code, err.message, err.param);
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return sendError(reply, req.url, 413, "too_large", `request body over the limit (${err.message})`);
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return sendError(reply, req.url, 415, "unsupported_media_type", `body: Content-Type "${req.headers["content-type"] ?? ""}" is not JSON; send JSON with Content-Type: application/json`);
    if (err.statusCode && err.statusCode < 500) return sendError(reply, req.url, err.statusCode, "invalid_request", `body: ${err.message}`);
    log.error({ url: req.url, error: err.message }, "web request failed");
    return sendError(reply, req.url, 500, "internal_error", "the server failed to handle this request; see the host log");
  });
  // Other content types are read (within the JSON limit) so a JSON route can answer 415 naming the type;
  // uploads have a scope of their own that streams the body to disk (routes-api.ts).
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEB_BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
  return app;
}
