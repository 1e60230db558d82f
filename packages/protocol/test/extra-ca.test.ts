// STARLING_EXTRA_CA_CERTS: a worker's https client trusts a private CA (a company proxy, a self-hosted
// model endpoint) only when the variable names its certificate; a file it cannot use is reported and ignored.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makePrivateCa, type PrivateCa } from "../../../test/fakes/private-ca.js";
import { EXTRA_CA_ENV } from "../src/extra-ca.js";
import { keepAliveClient, postOverKeepAlive } from "../src/http-post.js";

const ca = makePrivateCa();
let server: Server;
let url: URL;

beforeAll(async () => {
  if (!ca) return;
  server = createServer({ key: ca.key, cert: ca.cert }, (_req, res) => res.end("answered over TLS"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`);
});
afterAll(async () => {
  if (!ca) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  ca.cleanup();
});
afterEach(() => {
  delete process.env[EXTRA_CA_ENV];
});

async function post(): Promise<string> {
  const client = await keepAliveClient("https:");
  try {
    const { response } = await postOverKeepAlive(client, url, { headers: { "content-type": "application/json" }, body: Buffer.from("{}"), repeatOnStaleSocket: false });
    let text = "";
    for await (const chunk of response) text += String(chunk);
    return text;
  } finally {
    client.agent.destroy();
  }
}

describe.skipIf(!ca)("STARLING_EXTRA_CA_CERTS (skipped: the openssl command, which makes the test certificate, is not installed)", () => {
  it("without it, a server whose certificate no system trusts is refused", async () => {
    await expect(post()).rejects.toThrow(/self[- ]signed|unable to verify/i);
  });

  it("naming the certificate's file, the same server is trusted, and public roots still are (the list keeps them)", async () => {
    process.env[EXTRA_CA_ENV] = ca!.certFile;
    expect(await post()).toBe("answered over TLS");
    const { extraCaList } = await import("../src/extra-ca.js");
    const { rootCertificates } = await import("node:tls");
    expect(extraCaList(rootCertificates)).toHaveLength(rootCertificates.length + 1);
  });

  it("a file that cannot be read is ignored with one warning naming it", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      process.env[EXTRA_CA_ENV] = "/nonexistent/company-ca.pem";
      await expect(post()).rejects.toThrow(/self[- ]signed|unable to verify/i);
      await expect(post()).rejects.toThrow(/self[- ]signed|unable to verify/i);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([expect.stringMatching(/^Ignoring extra certs from \/nonexistent\/company-ca\.pem \(STARLING_EXTRA_CA_CERTS\): ENOENT/)]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
