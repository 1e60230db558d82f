import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  CODEX_SECRET_NAMES,
  chatgptAccountId,
  chatgptFedramp,
  jwtExpiresAtMs,
  tokenSha256,
  type CredentialsParams,
  type CredentialsResult,
} from "@starling/protocol";

/** OpenAI's OAuth token endpoint and the Codex CLI's public client id (reference §1.5). */
export const CODEX_REFRESH_URL = "https://auth.openai.com/oauth/token";
export const CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
/** A token this close to its `exp` is refreshed (reference §1.5). */
const REFRESH_MARGIN_MS = 60_000;

/** Where the material was found: an auth.json (rewritten on refresh) or the environment (kept in memory). */
export type CodexSource = { kind: "file"; path: string; label: string } | { kind: "env"; label: string };

export interface CodexMaterial {
  accessToken: string;
  accountId: string;
  refreshToken?: string;
  idToken?: string;
  fedramp: boolean;
  source: CodexSource;
}

/** The auth.json candidates in the reference's order, each with the variable that named it. */
export function codexAuthCandidates(env: NodeJS.ProcessEnv): Array<{ path: string; label: string }> {
  const out: Array<{ path: string; label: string }> = [];
  const add = (path: string | undefined, label: string): void => {
    if (path?.trim()) out.push({ path: path.trim(), label });
  };
  add(env.CODEX_AUTH_JSON, "$CODEX_AUTH_JSON");
  add(env.CHATGPT_AUTH_JSON, "$CHATGPT_AUTH_JSON");
  if (env.CODEX_HOME?.trim()) add(join(env.CODEX_HOME.trim(), "auth.json"), "$CODEX_HOME/auth.json");
  if (env.HOME?.trim()) add(join(env.HOME.trim(), ".codex", "auth.json"), "$HOME/.codex/auth.json");
  return out;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);

/**
 * Finds a codex_subscription sign-in (reference §1.5): the first auth.json candidate that can be read
 * and has `tokens.access_token` and an account id (`tokens.account_id`, else the JWT claim of the access
 * or id token) wins; a file that is not JSON is an error, not skipped. Else the environment:
 * `api_key_env` or CHATGPT_ACCESS_TOKEN, CHATGPT_REFRESH_TOKEN, CHATGPT_ACCOUNT_ID (or the JWT claim).
 * Throws an Error that says everywhere it looked.
 */
export function findCodexAuth(env: NodeJS.ProcessEnv, apiKeyEnv?: string): CodexMaterial {
  const looked: string[] = [];
  for (const { path, label } of codexAuthCandidates(env)) {
    let raw: string;
    try {
      raw = readFileSync(path, "utf8");
    } catch (err) {
      looked.push(`${label} (${path}): ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
      continue;
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new Error(`codex_subscription: ${label} (${path}) is not valid JSON`);
    }
    const tokens = json && typeof json.tokens === "object" && json.tokens ? (json.tokens as Record<string, unknown>) : {};
    const accessToken = text(tokens.access_token);
    const idToken = text(tokens.id_token);
    const accountId = text(tokens.account_id) ?? chatgptAccountId(accessToken, idToken);
    if (!accessToken || !accountId) {
      looked.push(`${label} (${path}): ${accessToken ? "no account id" : "no tokens.access_token"}`);
      continue;
    }
    const refreshToken = text(tokens.refresh_token);
    return { accessToken, accountId, ...(refreshToken ? { refreshToken } : {}), ...(idToken ? { idToken } : {}), fedramp: chatgptFedramp(accessToken, idToken), source: { kind: "file", path, label } };
  }
  const names = [...(apiKeyEnv ? [apiKeyEnv] : []), CODEX_SECRET_NAMES.accessToken];
  const tokenName = names.find((name) => text(env[name]));
  const accessToken = tokenName ? text(env[tokenName]) : undefined;
  if (!accessToken) {
    looked.push(`${names.join(", ")}: not set`);
    throw new Error(`codex_subscription: no ChatGPT sign-in found (run \`codex login\`, or set CODEX_HOME or CODEX_AUTH_JSON). Looked at: ${looked.join("; ")}`);
  }
  const accountId = chatgptAccountId(accessToken) ?? text(env[CODEX_SECRET_NAMES.accountId]);
  if (!accountId) {
    throw new Error(`codex_subscription: ${tokenName} has no chatgpt_account_id claim and ${CODEX_SECRET_NAMES.accountId} is not set (auth.json's tokens.account_id)`);
  }
  const refreshToken = text(env.CHATGPT_REFRESH_TOKEN);
  return { accessToken, accountId, ...(refreshToken ? { refreshToken } : {}), fedramp: chatgptFedramp(accessToken), source: { kind: "env", label: tokenName! } };
}

export interface CodexAuthorityOptions {
  /** The codex model's `api_key_env` (a fallback for the access token). */
  apiKeyEnv?: string;
  /** Bounds the refresh request (the model's `conn_timeout`, at least 1 s; default 120 s). */
  timeoutMs?: number;
  /** Called with every secret value learned (the host's redactor). */
  learned?: (name: string, value: string) => void;
  /** A problem worth a log line that does not fail the request (auth.json could not be rewritten). */
  warn?: (message: string) => void;
  now?: () => number;
}

/**
 * The host's one owner of a ChatGPT sign-in: reads it once (findCodexAuth), hands the access token and
 * account id to workers, and refreshes it when a worker asks (`model/credentials`). One refresh at a
 * time: OpenAI refresh tokens rotate, so a second refresh with the same token would fail and could
 * clobber auth.json. A refreshed sign-in from auth.json is written back atomically (temp file + rename,
 * mode 600), unknown fields kept.
 */
export class CodexAuthority {
  private material: CodexMaterial | undefined;
  private refreshing: Promise<CodexMaterial> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: CodexAuthorityOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The current material (read on first use; throws when none is found). */
  current(): CodexMaterial {
    if (!this.material) this.adopt(findCodexAuth(this.env, this.options.apiKeyEnv));
    return this.material!;
  }

  /** `initialize.secrets` entries for a codex session. */
  secrets(): Record<string, string> {
    const m = this.current();
    return { [CODEX_SECRET_NAMES.accessToken]: m.accessToken, [CODEX_SECRET_NAMES.accountId]: m.accountId };
  }

  /**
   * The sign-in's tokens by name, for workers that must not hold them (digests only: their raw form is
   * redacted from tool results). Empty when no sign-in is found. The refresh and id tokens never leave
   * the host; the access token goes to codex sessions only.
   */
  withheld(): Record<string, string> {
    let m: CodexMaterial;
    try {
      m = this.current();
    } catch {
      return {};
    }
    return {
      [CODEX_SECRET_NAMES.accessToken]: m.accessToken,
      ...(m.refreshToken ? { CHATGPT_REFRESH_TOKEN: m.refreshToken } : {}),
      ...(m.idToken ? { CHATGPT_ID_TOKEN: m.idToken } : {}),
    };
  }

  /** Answers `model/credentials`: the current token, refreshed first when it is the stale one or about to expire. */
  async credentials(params: CredentialsParams): Promise<CredentialsResult> {
    let m = this.current();
    const workerHasOurs = params.staleTokenSha256 === undefined || params.staleTokenSha256 === tokenSha256(m.accessToken);
    if ((params.reason === "rejected" && workerHasOurs) || this.expiring(m)) m = await this.refresh(m);
    return { accessToken: m.accessToken, accountId: m.accountId, fedramp: m.fedramp };
  }

  /** Refreshes `stale` (single flight: callers during a refresh share it). */
  refresh(stale: CodexMaterial = this.current()): Promise<CodexMaterial> {
    if (this.material && this.material.accessToken !== stale.accessToken) return Promise.resolve(this.material);
    this.refreshing ??= this.doRefresh(stale).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private expiring(m: CodexMaterial): boolean {
    const expiresAt = jwtExpiresAtMs(m.accessToken);
    return expiresAt !== undefined && expiresAt - this.now() <= REFRESH_MARGIN_MS;
  }

  private async doRefresh(stale: CodexMaterial): Promise<CodexMaterial> {
    // The codex CLI may have refreshed the file itself: take its newer token instead of spending ours.
    if (stale.source.kind === "file") {
      const onDisk = tryFind(this.env, this.options.apiKeyEnv);
      if (onDisk && onDisk.accessToken !== stale.accessToken && !this.expiring(onDisk)) return this.adopt(onDisk);
    }
    if (!stale.refreshToken) throw new Error(`codex_subscription: the sign-in from ${stale.source.label} has no refresh token; run \`codex login\` again`);
    const url = this.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE?.trim() || CODEX_REFRESH_URL;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ client_id: CODEX_CLIENT_ID, grant_type: "refresh_token", refresh_token: stale.refreshToken }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
    } catch (err) {
      throw new Error(`codex_subscription: the token refresh at ${new URL(url).origin} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const body = await response.text();
    if (!response.ok) throw new Error(`codex_subscription: the token refresh answered HTTP ${response.status}${response.status === 400 || response.status === 401 ? " (the refresh token was refused: run `codex login` again)" : ""}`);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      throw new Error("codex_subscription: the token refresh answered with something that is not JSON");
    }
    const accessToken = text(json.access_token);
    if (!accessToken) throw new Error("codex_subscription: the token refresh answer has no access_token");
    const idToken = text(json.id_token) ?? stale.idToken;
    const accountId = chatgptAccountId(accessToken, idToken) ?? stale.accountId;
    if (accountId !== stale.accountId) throw new Error("codex_subscription: the refreshed sign-in belongs to another ChatGPT account; run `codex login` again");
    const refreshToken = text(json.refresh_token) ?? stale.refreshToken;
    const next: CodexMaterial = { accessToken, accountId, refreshToken, ...(idToken ? { idToken } : {}), fedramp: chatgptFedramp(accessToken, idToken), source: stale.source };
    this.adopt(next);
    if (stale.source.kind === "file") {
      try {
        rewriteAuthJson(stale.source.path, next, new Date(this.now()));
      } catch (err) {
        // The new token works; the next host start reads the old refresh token and must sign in again.
        this.options.warn?.(err instanceof Error ? err.message : String(err));
      }
    }
    return next;
  }

  private adopt(m: CodexMaterial): CodexMaterial {
    this.material = m;
    const learned = this.options.learned;
    if (learned) {
      learned(CODEX_SECRET_NAMES.accessToken, m.accessToken);
      learned(CODEX_SECRET_NAMES.accountId, m.accountId);
      if (m.refreshToken) learned("CHATGPT_REFRESH_TOKEN", m.refreshToken);
      if (m.idToken) learned("CHATGPT_ID_TOKEN", m.idToken);
    }
    return m;
  }
}

function tryFind(env: NodeJS.ProcessEnv, apiKeyEnv: string | undefined): CodexMaterial | undefined {
  try {
    return findCodexAuth(env, apiKeyEnv);
  } catch {
    return undefined;
  }
}

/**
 * Writes the refreshed tokens into auth.json, keeping every other field (reference §1.5: `tokens.*`
 * and `last_refresh`, RFC 3339 UTC): a temp file beside it, mode 600, then rename, so a reader (the
 * codex CLI) never sees half a file.
 */
export function rewriteAuthJson(path: string, m: CodexMaterial, at: Date): void {
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // gone or damaged since it was read: write what we know
  }
  const tokens = json.tokens && typeof json.tokens === "object" ? (json.tokens as Record<string, unknown>) : {};
  json.tokens = { ...tokens, access_token: m.accessToken, refresh_token: m.refreshToken, account_id: m.accountId, ...(m.idToken ? { id_token: m.idToken } : {}) };
  json.last_refresh = at.toISOString();
  const temp = join(dirname(path), `.auth.json.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // nothing to clean
    }
    throw new Error(`codex_subscription: the token was refreshed but ${path} could not be rewritten: ${err instanceof Error ? err.message : String(err)}`);
  }
}
