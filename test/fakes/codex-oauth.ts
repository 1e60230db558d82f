// A fake OpenAI OAuth token endpoint (POST, refresh_token grant) for codex_subscription tests, plus
// unsigned JWTs shaped like ChatGPT's access tokens (exp, the chatgpt_account_id claim).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** An unsigned JWT with `claims` (the client reads claims only, never verifies). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.sig`;
}

/** A ChatGPT-style access token for `accountId` expiring `expiresInSec` from now; `tag` makes it unique. */
export function chatgptToken(accountId: string, expiresInSec: number, tag = ""): string {
  return fakeJwt({ exp: Math.floor(Date.now() / 1000) + expiresInSec, tag, "https://api.openai.com/auth": { chatgpt_account_id: accountId } });
}

export interface OAuthCall {
  body: Record<string, unknown>;
}

export interface FakeOAuth {
  url: string;
  calls: OAuthCall[];
  /** Access tokens issued, in order. */
  issued: string[];
  close(): Promise<void>;
}

/**
 * Answers each refresh with a new access token (valid `expiresInSec`) and a rotated refresh token
 * `rt-<n>`; a refresh token it already rotated away is refused (400 invalid_grant), as OpenAI does.
 */
export async function startFakeOAuth(opts: { accountId: string; firstRefreshToken: string; expiresInSec?: number; delayMs?: number }): Promise<FakeOAuth> {
  const calls: OAuthCall[] = [];
  const issued: string[] = [];
  let valid = opts.firstRefreshToken;
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const body = JSON.parse(raw || "{}") as Record<string, unknown>;
      calls.push({ body });
      setTimeout(() => {
        if (req.method !== "POST" || body.grant_type !== "refresh_token" || body.refresh_token !== valid) {
          res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_grant" }));
          return;
        }
        valid = `rt-${calls.length}`;
        const accessToken = chatgptToken(opts.accountId, opts.expiresInSec ?? 3600, `refreshed-${calls.length}`);
        issued.push(accessToken);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: accessToken, refresh_token: valid, id_token: fakeJwt({ "https://api.openai.com/auth": { chatgpt_account_id: opts.accountId } }) }));
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    calls,
    issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
