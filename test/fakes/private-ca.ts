// A certificate for 127.0.0.1 that no system trusts (self-signed: it is its own CA), made with the
// openssl command line, and an https front that passes requests on to an http fake (so a model call
// crosses TLS with it). For tests of STARLING_EXTRA_CA_CERTS.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivateCa {
  /** PEM file of the certificate (the file a user would name in NODE_EXTRA_CA_CERTS). */
  certFile: string;
  cert: string;
  key: string;
  cleanup(): void;
}

/** Null when openssl is not installed (the caller skips with that reason). */
export function makePrivateCa(): PrivateCa | null {
  const dir = mkdtempSync(join(tmpdir(), "starling-ca-"));
  const certFile = join(dir, "ca.pem");
  const keyFile = join(dir, "key.pem");
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=Starling test CA", "-addext", "subjectAltName=IP:127.0.0.1"],
      { stdio: "ignore" },
    );
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { certFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * An https server on 127.0.0.1 with `ca`'s certificate that forwards every request to `target` (http;
 * a function when the target is known only after the front listens).
 */
export async function httpsFront(ca: PrivateCa, target: string | (() => string)): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    const upstream = new URL(typeof target === "string" ? target : target());
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
