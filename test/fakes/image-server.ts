// A scripted OpenAI Images API on 127.0.0.1 for tests: `POST /v1/images/generations` (JSON) and
// `POST /v1/images/edits` (multipart), answering `{created, data: [{b64_json, revised_prompt}]}`.
import { sendJson, startScriptedServer, type BaseReply, type ScriptedServer, type ScriptedServerOptions } from "./scripted-server.js";

export interface ImageReply extends BaseReply {
  /** Bytes returned as `b64_json` (default: a 1×1 PNG). */
  image?: Buffer;
  /** Answer with a URL instead of `b64_json`. */
  url?: string;
  revisedPrompt?: string;
}

export interface FakeImages extends ScriptedServer<ImageReply> {
  /** Base URL as configured: `http://127.0.0.1:<port>/v1`. */
  url: string;
}

/** A valid 1×1 transparent PNG. */
export const TINY_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

export async function startFakeImages(opts: ScriptedServerOptions<ImageReply> & { apiKey?: string } = {}): Promise<FakeImages> {
  const server = await startScriptedServer<ImageReply>(
    {
      checkAuth: (req) =>
        opts.apiKey !== undefined && req.headers["authorization"] !== `Bearer ${opts.apiKey}`
          ? { status: 401, body: { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } } }
          : null,
      errorBody: (status, message) => ({ error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", code: status } }),
      render: (res, reply, _index, req) => {
        if (!/\/images\/(generations|edits)$/.test(req.path)) return sendJson(res, 404, { error: { message: `no route ${req.path}` } });
        const item = reply.url ? { url: reply.url } : { b64_json: (reply.image ?? TINY_PNG).toString("base64") };
        sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: [{ ...item, ...(reply.revisedPrompt ? { revised_prompt: reply.revisedPrompt } : {}) }] });
      },
    },
    opts,
  );
  return { ...server, url: `${server.origin}/v1` };
}

/** The multipart form of a recorded edit request. */
export async function editForm(req: { rawBody: Buffer; headers: Record<string, string | undefined> }): Promise<FormData> {
  return new Response(req.rawBody, { headers: { "content-type": req.headers["content-type"] ?? "" } }).formData();
}
