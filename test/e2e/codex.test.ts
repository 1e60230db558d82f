// codex_subscription end to end: the host finds the ChatGPT sign-in in $CODEX_HOME/auth.json, hands the
// worker its access token, and refreshes it (fake OAuth endpoint) when the token is about to expire or
// the Codex server refuses it; the worker talks to the fake Codex WebSocket server.
import { readFileSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeCodex, type FakeCodex } from "../fakes/codex-server.js";
import { chatgptToken, startFakeOAuth, type FakeOAuth } from "../fakes/codex-oauth.js";
import { privateChat } from "../fakes/telegram-api.js";
import { startE2E, type E2E } from "./fixture.js";

const ACCOUNT = "acct-e2e-5150";
const chat = privateChat(5150, "Codex");
let e2e: E2E;
let codex: FakeCodex;
let oauth: FakeOAuth;
let authPath: string;
const expiring = chatgptToken(ACCOUNT, 30, "initial");

beforeAll(async () => {
  codex = await startFakeCodex({
    responder: (req) => {
      const input = JSON.stringify(req.frame.input);
      const asked = /"input_text","text":"([^"]*)"\}\]\}\]$/.exec(input)?.[1] ?? "?";
      return { text: `codex answers: ${asked.replace(/^.*\n/, "")}` };
    },
  });
  oauth = await startFakeOAuth({ accountId: ACCOUNT, firstRefreshToken: "rt-0" });
  e2e = await startE2E({ responder: () => ({ text: "the fake chat-completions model must not be asked" }), start: false, config: { adminUserIds: [chat.id] } });
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as Record<string, any>;
  config.models = {
    main: {
      provider_type: "codex_subscription",
      model_name: "gpt-5-codex",
      url: codex.url,
      capabilities: ["chat"],
      conn_timeout: 10,
      retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 1 } },
    },
  };
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  const codexHome = join(e2e.dir, "codex-home");
  mkdirSync(codexHome);
  authPath = join(codexHome, "auth.json");
  writeFileSync(authPath, JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: expiring, refresh_token: "rt-0", account_id: ACCOUNT }, last_refresh: "2026-01-01T00:00:00Z" }));
  e2e.start({ CODEX_HOME: codexHome, CODEX_AUTH_JSON: "", CHATGPT_AUTH_JSON: "", CODEX_REFRESH_TOKEN_URL_OVERRIDE: oauth.url });
}, 60_000);

afterAll(async () => {
  await e2e?.close();
  await codex?.close();
  await oauth?.close();
});

describe("codex_subscription through the real host", () => {
  it("answers with a token the host refreshed because it was about to expire, and rewrites auth.json", async () => {
    expect(await e2e.ask(chat, "hello codex")).toBe("codex answers: hello codex");
    expect(oauth.calls).toHaveLength(1);
    expect(codex.handshakes.map((h) => h.authorization)).toEqual([`Bearer ${oauth.issued[0]}`]);
    expect(codex.handshakes[0]!["chatgpt-account-id"]).toBe(ACCOUNT);
    const written = JSON.parse(readFileSync(authPath, "utf8")) as Record<string, any>;
    expect(written.tokens).toMatchObject({ access_token: oauth.issued[0], refresh_token: "rt-1", account_id: ACCOUNT });
    expect(written).toHaveProperty("OPENAI_API_KEY", null);
    expect(written.last_refresh).not.toBe("2026-01-01T00:00:00Z");
    expect(statSync(authPath).mode & 0o777).toBe(0o600);
    expect(e2e.model.requests).toHaveLength(0);
  });

  it("a token the server refuses (401) is refreshed by the host once and the message answered", async () => {
    const revoked = oauth.issued[0]!;
    codex.acceptTokens((token) => token !== revoked);
    expect(await e2e.ask(chat, "again please")).toBe("codex answers: again please");
    expect(codex.refused).toBe(1);
    expect(oauth.calls).toHaveLength(2);
    expect(codex.handshakes.at(-1)!.authorization).toBe(`Bearer ${oauth.issued[1]}`);
    expect(JSON.parse(readFileSync(authPath, "utf8")).tokens.refresh_token).toBe("rt-2");
  });

  it("no token or refresh token reaches the host log", () => {
    const log = readFileSync(join(e2e.workdir, "logs", "host.log"), "utf8");
    for (const secret of [expiring, ...oauth.issued, "rt-1", "rt-2"]) expect(log).not.toContain(secret);
  });
});

describe("codex_subscription without a ChatGPT sign-in", () => {
  let bare: E2E;
  const lonely = privateChat(5151, "NoSignIn");
  beforeAll(async () => {
    bare = await startE2E({ responder: () => ({ text: "the fake chat-completions model must not be asked" }), start: false, config: { adminUserIds: [lonely.id] } });
    const config = JSON.parse(readFileSync(bare.configPath, "utf8")) as Record<string, any>;
    config.models = { main: { provider_type: "codex_subscription", model_name: "gpt-5-codex", url: codex.url, capabilities: ["chat"] } };
    writeFileSync(bare.configPath, JSON.stringify(config, null, 2));
    const empty = join(bare.dir, "no-codex-home");
    mkdirSync(empty);
    bare.start({ CODEX_HOME: empty, HOME: empty, CODEX_AUTH_JSON: "", CHATGPT_AUTH_JSON: "", CHATGPT_ACCESS_TOKEN: "" });
  }, 60_000);
  afterAll(() => bare?.close());

  it("tells the chat at once what is missing instead of retrying a start that cannot work", async () => {
    const notice = await bare.ask(lonely, "hello?");
    expect(notice).toMatch(/could not run this conversation's session: its worker could not be started .*no ChatGPT sign-in found \(run `?codex login`?/s);
    const log = readFileSync(join(bare.workdir, "logs", "host.log"), "utf8");
    expect(log.match(/"msg":"worker start failed"/g)).toHaveLength(1);
  });
});
