import { readFileSync } from "node:fs";

/**
 * Names a PEM file of extra CA certificates for a worker's `https:` requests (model calls, web tools).
 * The host sets it from its own `NODE_EXTRA_CA_CERTS`: Node reads that variable in every process at
 * start (~80 ms for a 220 kB bundle), while a worker reads this file only when it first calls https.
 */
export const EXTRA_CA_ENV = "STARLING_EXTRA_CA_CERTS";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

let cached: { path: string; list: string[] | undefined } | undefined;

/**
 * The `ca` option for an https request: Node's bundled roots plus the certificates of the file named
 * by STARLING_EXTRA_CA_CERTS (a `ca` option replaces the roots, so both are given). Undefined when the
 * variable is unset. A file that cannot be read or holds no certificate is ignored with one warning,
 * as Node does for NODE_EXTRA_CA_CERTS.
 */
export function extraCaList(rootCertificates: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const path = env[EXTRA_CA_ENV];
  if (!path) return undefined;
  if (cached?.path === path) return cached.list;
  let list: string[] | undefined;
  try {
    const found = readFileSync(path, "utf8").match(PEM_CERTIFICATE) ?? [];
    if (found.length === 0) throw new Error("no PEM certificate in it");
    list = [...rootCertificates, ...found];
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from ${path} (${EXTRA_CA_ENV}): ${err instanceof Error ? err.message : String(err)}`);
  }
  cached = { path, list };
  return list;
}
