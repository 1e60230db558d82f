// A scripted Brave web search API on 127.0.0.1 for tests (`GET /res/v1/web/search?q=…`).
import { sendJson, startScriptedServer, type BaseReply, type ScriptedServer, type ScriptedServerOptions } from "./scripted-server.js";

export interface BraveReply extends BaseReply {
  /** `web.results[]` as Brave sends them (title, url, description, extra_snippets). */
  results?: Array<Record<string, unknown>>;
}

export interface FakeBrave extends ScriptedServer<BraveReply> {
  /** Full endpoint: `http://127.0.0.1:<port>/res/v1/web/search`. */
  url: string;
}

export async function startFakeBrave(opts: ScriptedServerOptions<BraveReply> & { apiKey?: string } = {}): Promise<FakeBrave> {
  const server = await startScriptedServer<BraveReply>(
    {
      checkAuth: (req) =>
        opts.apiKey !== undefined && req.headers["x-subscription-token"] !== opts.apiKey
          ? { status: 401, body: { type: "ErrorResponse", error: { code: "SUBSCRIPTION_TOKEN_INVALID", detail: "The provided subscription token is invalid.", status: 401 } } }
          : null,
      errorBody: (status, message) => ({ type: "ErrorResponse", error: { code: "ERROR", detail: message, status } }),
      render: (res, reply, _index, req) => {
        const query = new URL(req.path, "http://fake").searchParams.get("q") ?? "";
        sendJson(res, 200, { type: "search", query: { original: query }, web: { type: "search", results: reply.results ?? [] } });
      },
    },
    opts,
  );
  return { ...server, url: `${server.origin}/res/v1/web/search` };
}
