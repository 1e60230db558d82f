import {
  CODEX_SECRET_NAMES,
  chatgptAccountId,
  chatgptFedramp,
  jwtExpiresAtMs,
  tokenSha256,
  type CredentialsParams,
  type CredentialsResult,
  type ModelConfig,
} from "@starling/protocol";
import { ProviderError } from "../types.js";

/** Asks the host for fresher sign-in material (`model/credentials`); absent for an embedder without a host. */
export type AskCredentials = (params: CredentialsParams, signal: AbortSignal) => Promise<CredentialsResult>;

export interface CodexAuth {
  accessToken: string;
  accountId: string;
  fedramp: boolean;
}

/** A token this close to its `exp` is renewed before use (reference §1.5). */
export const REFRESH_MARGIN_MS = 60_000;

/**
 * The access token and account id a codex_subscription provider uses. The host owns the refresh token
 * (model-credentials.ts says why): the first material comes from `initialize.secrets` (CHATGPT_ACCESS_TOKEN,
 * CHATGPT_ACCOUNT_ID; the model's `api_key_env` first, for embedders), a fresher one from the host.
 */
export class CodexCredentials {
  private auth: CodexAuth | undefined;
  private pending: Promise<CodexAuth> | undefined;

  constructor(
    private readonly config: ModelConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly ask: AskCredentials | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every value to keep out of error messages. */
  get secrets(): string[] {
    return this.auth ? [this.auth.accessToken, this.auth.accountId] : [];
  }

  /** Material good for at least another minute: asks the host first when the token expires sooner. */
  async fresh(signal: AbortSignal): Promise<CodexAuth> {
    const auth = (this.auth ??= this.initial());
    const expiresAt = jwtExpiresAtMs(auth.accessToken);
    if (expiresAt === undefined || expiresAt - this.now() > REFRESH_MARGIN_MS) return auth;
    const expired = expiresAt <= this.now();
    if (!this.ask) {
      if (!expired) return auth;
      throw new ProviderError("auth", `${this.label}: the ChatGPT access token expired at ${new Date(expiresAt).toISOString()} and this worker has no host to refresh it (model/credentials); pass a fresh ${CODEX_SECRET_NAMES.accessToken}`, { retryable: false });
    }
    try {
      return await this.renewFrom(auth, "expiring", signal);
    } catch (error) {
      if (!expired && !signal.aborted) return auth; // still valid for a few seconds: try it
      throw error;
    }
  }

  /** The server refused `stale` (401): fresher material from the host, once per refusal. */
  async rejected(stale: CodexAuth, signal: AbortSignal): Promise<CodexAuth> {
    if (!this.ask) {
      throw new ProviderError("auth", `${this.label}: the ChatGPT access token was refused (HTTP 401) and this worker has no host to refresh it (model/credentials); pass a fresh ${CODEX_SECRET_NAMES.accessToken}`, { status: 401, retryable: false });
    }
    return this.renewFrom(stale, "rejected", signal);
  }

  /** One request to the host at a time; callers waiting for the same renewal share its answer. */
  private renewFrom(stale: CodexAuth, reason: CredentialsParams["reason"], signal: AbortSignal): Promise<CodexAuth> {
    if (this.auth && this.auth.accessToken !== stale.accessToken) return Promise.resolve(this.auth);
    this.pending ??= this.askHost(stale, reason, signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async askHost(stale: CodexAuth, reason: CredentialsParams["reason"], signal: AbortSignal): Promise<CodexAuth> {
    const staleTokenSha256 = tokenSha256(stale.accessToken);
    let answer: CredentialsResult;
    try {
      answer = await this.ask!({ providerType: "codex_subscription", reason, staleTokenSha256 }, signal);
    } catch (cause) {
      if (signal.aborted) throw cause;
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new ProviderError("auth", `${this.label}: the host could not renew the ChatGPT sign-in: ${message}`, { cause, retryable: false });
    }
    this.auth = { accessToken: answer.accessToken, accountId: answer.accountId, fedramp: answer.fedramp };
    return this.auth;
  }

  private initial(): CodexAuth {
    const named = this.config.api_key_env;
    const accessToken = (named ? this.env[named]?.trim() : undefined) || this.env[CODEX_SECRET_NAMES.accessToken]?.trim();
    if (!accessToken) {
      throw new ProviderError(
        "config",
        `${this.label}: no ChatGPT access token. The Starling host reads it from auth.json ($CODEX_AUTH_JSON, $CHATGPT_AUTH_JSON, $CODEX_HOME/auth.json, ~/.codex/auth.json: run \`codex login\`) and passes it in initialize.secrets; an embedder sets ${CODEX_SECRET_NAMES.accessToken}${named ? ` or ${named}` : ""} (and ${CODEX_SECRET_NAMES.accountId})`,
        { retryable: false },
      );
    }
    const accountId = this.env[CODEX_SECRET_NAMES.accountId]?.trim() || chatgptAccountId(accessToken);
    if (!accountId) {
      throw new ProviderError(
        "config",
        `${this.label}: no ChatGPT account id: the access token has no chatgpt_account_id claim; set ${CODEX_SECRET_NAMES.accountId} (auth.json's tokens.account_id)`,
        { retryable: false },
      );
    }
    return { accessToken, accountId, fedramp: chatgptFedramp(accessToken) };
  }

  private get label(): string {
    return `model ${this.config.model_name} (codex_subscription)`;
  }
}
