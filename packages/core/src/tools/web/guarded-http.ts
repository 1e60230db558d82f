import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import tls from "node:tls";
import { extraCaList } from "@starling/protocol";
import { BlockedAddressError, blockedReason, literalAddress, type AddressPolicy } from "./address-policy.js";

export const DEFAULT_MAX_REDIRECTS = 10;
export const USER_AGENT = "Mozilla/5.0 (compatible; Starling/0.1; +https://github.com/starling-agent)";

export interface GuardedGetOptions {
  url: string;
  headers?: Record<string, string>;
  policy: AddressPolicy;
  /** Aborts the request and the body stream (cancel or timeout). */
  signal: AbortSignal;
  maxRedirects?: number;
}

export interface GuardedResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  finalUrl: string;
  /** Every URL visited before `finalUrl`. */
  redirects: string[];
  /** The body stream; the caller must consume or destroy it. */
  body: IncomingMessage;
}

/** A URL the web tools refuse before any network I/O (scheme, credentials, too many redirects). */
export class WebRequestError extends Error {
  override readonly name = "WebRequestError";
}

/**
 * GET with redirects followed by hand, so every hop is checked: the scheme must be http(s), an IP
 * literal is judged by the address policy, and a hostname is resolved by our own `lookup`, which
 * refuses the connection when any resolved address is blocked. Checking inside `lookup` judges the
 * address the socket really connects to, so DNS rebinding between check and connect is not possible.
 */
export async function guardedGet(options: GuardedGetOptions): Promise<GuardedResponse> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const redirects: string[] = [];
  let url = parseWebUrl(options.url);
  for (;;) {
    const response = await getOnce(url, options);
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(response.statusCode ?? 0) || !location) {
      return {
        status: response.statusCode ?? 0,
        statusText: response.statusMessage ?? "",
        headers: response.headers,
        finalUrl: url.href,
        redirects,
        body: response,
      };
    }
    response.destroy();
    redirects.push(url.href);
    if (redirects.length > maxRedirects) {
      throw new WebRequestError(`too many redirects (more than ${maxRedirects}), last to ${location}`);
    }
    url = parseWebUrl(new URL(location, url).href);
  }
}

/** A URL the web tools accept: http(s) only, no embedded credentials. */
export function parseWebUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebRequestError(`${JSON.stringify(text)} is not a valid URL; give an absolute http:// or https:// URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WebRequestError(`${url.protocol} URLs are not supported; only http:// and https://`);
  }
  if (url.username || url.password) {
    throw new WebRequestError("URLs with a user name or password are refused; pass credentials in headers instead");
  }
  return url;
}

function getOnce(url: URL, options: GuardedGetOptions): Promise<IncomingMessage> {
  const literal = literalAddress(url.hostname);
  if (literal) {
    const reason = blockedReason(literal, options.policy);
    if (reason) return Promise.reject(new BlockedAddressError(url.host, reason));
  }
  const https = url.protocol === "https:";
  const send = https ? httpsRequest : httpRequest;
  const ca = https ? extraCaList(tls.rootCertificates) : undefined;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      ...(ca ? { ca } : {}),
      method: "GET",
      headers: { "user-agent": USER_AGENT, accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8", ...options.headers },
      lookup: guardedLookup(options.policy),
      signal: options.signal,
    });
    req.once("response", resolve);
    req.once("error", reject);
    req.end();
  });
}

function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname: string, lookupOptions: LookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const blocked = addresses.map((a) => blockedReason(a.address, policy)).find((r) => r !== null);
      if (blocked) return callback(new BlockedAddressError(hostname, blocked), "", 0);
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Reads at most `maxBytes` of a body; destroys the stream when more arrives. */
export async function readCapped(body: IncomingMessage, maxBytes: number): Promise<{ data: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      size += room;
      body.destroy();
      return { data: Buffer.concat(chunks, size), complete: false };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { data: Buffer.concat(chunks, size), complete: true };
}

/** Human text for a transport failure (`ECONNREFUSED` → "connection refused"). */
export function transportErrorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "the host name does not resolve",
    EAI_AGAIN: "DNS lookup failed (temporary)",
    ECONNRESET: "the connection was reset",
    ETIMEDOUT: "the connection timed out",
    EHOSTUNREACH: "the host is unreachable",
    ENETUNREACH: "the network is unreachable",
    CERT_HAS_EXPIRED: "the TLS certificate has expired",
    DEPTH_ZERO_SELF_SIGNED_CERT: "the TLS certificate is self-signed",
    ERR_TLS_CERT_ALTNAME_INVALID: "the TLS certificate does not match the host name",
  };
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && known[code] ? `${known[code]} (${code})` : message;
}
