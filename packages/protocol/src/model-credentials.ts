import { createHash } from "node:crypto";
import { z } from "zod";
import { lazySchema } from "./lazy-schema.js";

/**
 * `model/credentials` (worker → host): sign-in material for a model whose tokens the host owns.
 * Today only `codex_subscription` (a ChatGPT subscription's OAuth tokens): the host reads auth.json,
 * keeps the refresh token to itself (OpenAI refresh tokens rotate, so two processes refreshing at once
 * would break each other) and hands workers the access token and account id, in
 * `initialize.secrets` under CODEX_SECRET_NAMES and, when the worker needs a fresher one, as the
 * answer to this request. Optional: a host that does not serve it answers "method not found", and
 * the worker says what is missing.
 */
export const credentialsParams = lazySchema(() =>
  z.object({
    providerType: z.literal("codex_subscription"),
    /** `expiring`: the token the worker holds expires within a minute; `rejected`: the server answered 401. */
    reason: z.enum(["expiring", "rejected"]),
    /**
     * SHA-256 (hex) of the access token the worker holds. The host refreshes only while its own current
     * token is that one; when another worker already got a newer one, that is the answer.
     */
    staleTokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits")
      .optional(),
  }),
);
export type CredentialsParams = z.infer<ReturnType<typeof credentialsParams>>;

/** `staleTokenSha256`: how the worker names the token it holds without sending it (hex SHA-256). */
export function tokenSha256(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Parsed by a worker of a codex_subscription model only: built on first use. */
export const credentialsResult = lazySchema(() =>
  z.object({
    accessToken: z.string().min(1),
    accountId: z.string().min(1),
    /** The account is a FedRAMP one (the `x-openai-fedramp: true` header is sent). */
    fedramp: z.boolean().default(false),
  }),
);
export type CredentialsResult = z.infer<ReturnType<typeof credentialsResult>>;

/** Where a codex_subscription model's access token and account id travel in `initialize.secrets` (the reference's variable names, so an embedder's environment works too). */
export const CODEX_SECRET_NAMES = { accessToken: "CHATGPT_ACCESS_TOKEN", accountId: "CHATGPT_ACCOUNT_ID" } as const;

/** The claims of a JWT (its middle part, base64url JSON), unverified; undefined when it is not one. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return claims && typeof claims === "object" && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** When a JWT expires (its `exp`, in ms since the epoch), or undefined when it says nothing. */
export function jwtExpiresAtMs(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

function openAiAuthClaim(token: string | undefined, key: string): unknown {
  if (!token) return undefined;
  const auth = jwtClaims(token)?.["https://api.openai.com/auth"];
  return auth && typeof auth === "object" ? (auth as Record<string, unknown>)[key] : undefined;
}

/** The ChatGPT account id a token names (claim `https://api.openai.com/auth`.chatgpt_account_id), first found among `tokens`. */
export function chatgptAccountId(...tokens: (string | undefined)[]): string | undefined {
  for (const token of tokens) {
    const id = openAiAuthClaim(token, "chatgpt_account_id");
    if (typeof id === "string" && id.trim() !== "") return id.trim();
  }
  return undefined;
}

/** Whether the first token with the claim marks a FedRAMP account (`chatgpt_account_is_fedramp`). */
export function chatgptFedramp(...tokens: (string | undefined)[]): boolean {
  for (const token of tokens) {
    const flag = openAiAuthClaim(token, "chatgpt_account_is_fedramp");
    if (typeof flag === "boolean") return flag;
  }
  return false;
}
