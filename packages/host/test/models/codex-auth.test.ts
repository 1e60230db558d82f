import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chatgptToken, fakeJwt, startFakeOAuth, type FakeOAuth } from "../../../../test/fakes/codex-oauth.js";
import { CodexAuthority, codexAuthCandidates, findCodexAuth } from "../../src/models/codex-auth.js";

const ACCOUNT = "acct-77";
let dir: string;
let oauth: FakeOAuth | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "starling-codex-auth-"));
});
afterEach(async () => {
  await oauth?.close();
  oauth = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function authJson(path: string, tokens: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, JSON.stringify({ OPENAI_API_KEY: null, ...extra, tokens }, null, 2));
  return path;
}
const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("codex_subscription sign-in on the host", () => {
  it("looks in $CODEX_AUTH_JSON, $CHATGPT_AUTH_JSON, $CODEX_HOME/auth.json, ~/.codex/auth.json, then the environment", () => {
    const env = { CODEX_AUTH_JSON: join(dir, "a.json"), CHATGPT_AUTH_JSON: join(dir, "b.json"), CODEX_HOME: join(dir, "codex-home"), HOME: join(dir, "home") };
    expect(codexAuthCandidates(env).map((c) => c.label)).toEqual(["$CODEX_AUTH_JSON", "$CHATGPT_AUTH_JSON", "$CODEX_HOME/auth.json", "$HOME/.codex/auth.json"]);

    // None exists: the environment, and the error says everywhere it looked.
    expect(() => findCodexAuth(env)).toThrow(/no ChatGPT sign-in found.*\$CODEX_AUTH_JSON \(.*a\.json\): ENOENT.*\$HOME\/\.codex\/auth\.json.*CHATGPT_ACCESS_TOKEN: not set/);
    const envToken = chatgptToken(ACCOUNT, 3600, "env");
    expect(findCodexAuth({ ...env, CHATGPT_ACCESS_TOKEN: envToken, CHATGPT_REFRESH_TOKEN: "rt-env" })).toMatchObject({ accessToken: envToken, accountId: ACCOUNT, refreshToken: "rt-env", source: { kind: "env" } });
    expect(() => findCodexAuth({ ...env, MY_KEY: "opaque-token" }, "MY_KEY")).toThrow(/MY_KEY has no chatgpt_account_id claim and CHATGPT_ACCOUNT_ID is not set/);

    // Later candidates win only while the earlier ones are missing or lack a token.
    const home = authJson(join(dir, "home", ".codex", "auth.json"), { access_token: chatgptToken(ACCOUNT, 3600, "home") });
    expect(findCodexAuth(env).source).toEqual({ kind: "file", path: home, label: "$HOME/.codex/auth.json" });
    authJson(join(dir, "codex-home", "auth.json"), { access_token: "", refresh_token: "x" });
    expect(findCodexAuth(env).source.label).toBe("$HOME/.codex/auth.json");
    authJson(join(dir, "codex-home", "auth.json"), { access_token: "opaque", account_id: "acct-from-field", refresh_token: "rt" });
    expect(findCodexAuth(env)).toMatchObject({ accountId: "acct-from-field", source: { label: "$CODEX_HOME/auth.json" } });
    authJson(join(dir, "b.json"), { access_token: "opaque", id_token: fakeJwt({ "https://api.openai.com/auth": { chatgpt_account_id: "acct-id-token", chatgpt_account_is_fedramp: true } }) });
    expect(findCodexAuth(env)).toMatchObject({ accountId: "acct-id-token", fedramp: true, source: { label: "$CHATGPT_AUTH_JSON" } });
    writeFileSync(join(dir, "a.json"), "{ not json");
    expect(() => findCodexAuth(env)).toThrow(/\$CODEX_AUTH_JSON \(.*a\.json\) is not valid JSON/);
  });

  it("refreshes through the OAuth endpoint and rewrites auth.json atomically (mode 600), keeping unknown fields", async () => {
    oauth = await startFakeOAuth({ accountId: ACCOUNT, firstRefreshToken: "rt-0" });
    const old = chatgptToken(ACCOUNT, 3600, "old");
    const path = authJson(join(dir, "codex", "auth.json"), { access_token: old, refresh_token: "rt-0", account_id: ACCOUNT, id_token: "old-id", custom: 1 }, { OPENAI_API_KEY: "keep-me", extra: { nested: true } });
    const learned: string[] = [];
    const authority = new CodexAuthority({ CODEX_HOME: join(dir, "codex"), CODEX_REFRESH_TOKEN_URL_OVERRIDE: oauth.url }, { learned: (name) => learned.push(name) });
    expect(authority.secrets()).toEqual({ CHATGPT_ACCESS_TOKEN: old, CHATGPT_ACCOUNT_ID: ACCOUNT });

    const answer = await authority.credentials({ providerType: "codex_subscription", reason: "rejected", staleTokenSha256: sha(old) });
    expect(answer).toEqual({ accessToken: oauth.issued[0], accountId: ACCOUNT, fedramp: false });
    expect(oauth.calls.map((c) => c.body)).toEqual([{ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_token: "rt-0" }]);

    const written = JSON.parse(readFileSync(path, "utf8")) as Record<string, any>;
    expect(written.OPENAI_API_KEY).toBe("keep-me");
    expect(written.extra).toEqual({ nested: true });
    expect(written.tokens).toMatchObject({ access_token: oauth.issued[0], refresh_token: "rt-1", account_id: ACCOUNT, custom: 1 });
    expect(written.tokens.id_token).not.toBe("old-id");
    expect(Date.parse(written.last_refresh)).toBeGreaterThan(Date.now() - 60_000);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "codex"))).toEqual(["auth.json"]); // no temp file left
    expect(learned).toEqual(expect.arrayContaining(["CHATGPT_ACCESS_TOKEN", "CHATGPT_ACCOUNT_ID", "CHATGPT_REFRESH_TOKEN"]));

    // A worker still holding the old token gets the new one without another refresh.
    expect(await authority.credentials({ providerType: "codex_subscription", reason: "rejected", staleTokenSha256: sha(old) })).toEqual(answer);
    expect(oauth.calls).toHaveLength(1);
  });

  it("concurrent requests from several workers make one OAuth call", async () => {
    oauth = await startFakeOAuth({ accountId: ACCOUNT, firstRefreshToken: "rt-0", delayMs: 100 });
    const old = chatgptToken(ACCOUNT, 20, "expiring");
    authJson(join(dir, "auth.json"), { access_token: old, refresh_token: "rt-0" });
    const authority = new CodexAuthority({ CODEX_AUTH_JSON: join(dir, "auth.json"), CODEX_REFRESH_TOKEN_URL_OVERRIDE: oauth.url });
    const asks = Array.from({ length: 6 }, (_, i) =>
      authority.credentials({ providerType: "codex_subscription", reason: i % 2 ? "rejected" : "expiring", staleTokenSha256: sha(old) }),
    );
    const answers = await Promise.all(asks);
    expect(oauth.calls).toHaveLength(1);
    expect(new Set(answers.map((a) => a.accessToken))).toEqual(new Set([oauth.issued[0]]));
  });

  it("a refused refresh says to sign in again; a sign-in from the environment refreshes in memory only", async () => {
    oauth = await startFakeOAuth({ accountId: ACCOUNT, firstRefreshToken: "rt-good" });
    const old = chatgptToken(ACCOUNT, 3600, "old");
    authJson(join(dir, "auth.json"), { access_token: old, refresh_token: "rt-stale" });
    const fromFile = new CodexAuthority({ CODEX_AUTH_JSON: join(dir, "auth.json"), CODEX_REFRESH_TOKEN_URL_OVERRIDE: oauth.url });
    await expect(fromFile.credentials({ providerType: "codex_subscription", reason: "rejected" })).rejects.toThrow(/HTTP 400 \(the refresh token was refused: run `codex login` again\)/);

    const fromEnv = new CodexAuthority({ CHATGPT_ACCESS_TOKEN: old, CHATGPT_REFRESH_TOKEN: "rt-good", HOME: dir, CODEX_REFRESH_TOKEN_URL_OVERRIDE: oauth.url });
    const answer = await fromEnv.credentials({ providerType: "codex_subscription", reason: "rejected", staleTokenSha256: sha(old) });
    expect(answer.accessToken).toBe(oauth.issued[0]);
    expect(readdirSync(dir)).toEqual(["auth.json"]);
  });
});

describe("codex_subscription sign-in and the tool sandbox", () => {
  it("masks every auth.json candidate that exists inside bubblewrap, as it masks the env file", async () => {
    const { parseConfig } = await import("@starling/config");
    const { hostSettings } = await import("../../src/host.js");
    const codexHome = join(dir, "etc-codex");
    const auth = authJson(join(codexHome, "auth.json"), { access_token: chatgptToken(ACCOUNT, 3600, "sandbox"), account_id: ACCOUNT });
    const model = (provider_type: string) => ({ provider_type, model_name: "m", url: provider_type === "codex_subscription" ? "wss://example.test/codex" : "http://127.0.0.1:9/v1/chat/completions", capabilities: ["chat"] });
    const configOf = (provider_type: string) => {
      const loaded = parseConfig({ version: "0.4", models: { main: model(provider_type) }, channels: [{ kind: "telegram", id: "tg", bot_token_env: "TG_TOKEN" }] }, { checkSecrets: false });
      if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
      return loaded.config;
    };
    const env = { CODEX_HOME: codexHome, HOME: join(dir, "no-home") };
    expect(hostSettings(configOf("codex_subscription"), join(dir, "workdir"), env).sandbox.hiddenPaths).toContain(auth);
    // Without a codex model the operator's auth.json is none of Starling's business.
    expect(hostSettings(configOf("open_router_completion"), join(dir, "workdir"), env).sandbox.hiddenPaths).not.toContain(auth);
  });
});

describe("codex_subscription sign-in and what workers hold", () => {
  it("workers get the refresh and id tokens (and, on other models, the access token) only as digests", async () => {
    const { parseConfig } = await import("@starling/config");
    const { hostSettings } = await import("../../src/host.js");
    const { buildLaunch } = await import("../../src/conversations/launch.js");
    const codexHome = join(dir, "codex-home");
    const access = chatgptToken(ACCOUNT, 3600, "digest");
    const idToken = chatgptToken(ACCOUNT, 3600, "id-token");
    authJson(join(codexHome, "auth.json"), { access_token: access, refresh_token: "rt-secret-refresh-token-0001", id_token: idToken, account_id: ACCOUNT });
    const loaded = parseConfig(
      {
        version: "0.4",
        models: {
          codex: { provider_type: "codex_subscription", model_name: "m", url: "wss://example.test/codex", capabilities: ["chat"] },
          other: { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:9/v1/chat/completions", capabilities: ["chat"] },
        },
        channels: [{ kind: "telegram", id: "tg", bot_token_env: "TG_TOKEN" }],
      },
      { checkSecrets: false },
    );
    if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
    const settings = hostSettings(loaded.config, join(dir, "workdir"), { CODEX_HOME: codexHome, HOME: join(dir, "no-home") });
    const conversation = { id: "tg-000001", channelId: "tg", chatId: "1", index: 1, createdAt: "", modelAlias: "codex", pendingModelChoice: false, sandboxOverride: null, remote: null, foreground: { sessionId: "tg-000001.foreground", generation: 0 }, archivedSessions: [] };
    const digestsOf = (alias: string) => {
      const init = buildLaunch(settings, { ...conversation, modelAlias: alias }, "tg-000001.foreground", "foreground").init;
      const digests = new Map((init.secretDigests ?? []).map((d) => [d.name, d.sha256]));
      return { init, digests };
    };
    const codex = digestsOf("codex");
    expect(codex.init.secrets).toMatchObject({ CHATGPT_ACCESS_TOKEN: access });
    expect(codex.digests.get("CHATGPT_REFRESH_TOKEN")).toBe(sha("rt-secret-refresh-token-0001"));
    expect(codex.digests.get("CHATGPT_ID_TOKEN")).toBe(sha(idToken));
    expect(codex.digests.has("CHATGPT_ACCESS_TOKEN")).toBe(false);
    expect(JSON.stringify(codex.init)).not.toContain("rt-secret-refresh-token-0001");

    const other = digestsOf("other");
    expect(JSON.stringify(other.init.secrets ?? {})).not.toContain(access);
    expect(other.digests.get("CHATGPT_ACCESS_TOKEN")).toBe(sha(access));
    expect(other.digests.get("CHATGPT_REFRESH_TOKEN")).toBe(sha("rt-secret-refresh-token-0001"));
  });
});
