// A model endpoint behind a private CA (a company proxy, a self-hosted server): the worker's model call
// crosses TLS when STARLING_EXTRA_CA_CERTS names the CA (the host sets it from its NODE_EXTRA_CA_CERTS),
// and fails with a TLS error naming the problem when it does not.
import { afterAll, describe, expect, it } from "vitest";
import { httpsFront, makePrivateCa } from "../fakes/private-ca.js";
import { newEnv, userMessage } from "./harness.js";

const ca = makePrivateCa();
afterAll(() => ca?.cleanup());

describe.skipIf(!ca)("model endpoint behind a private CA (skipped: the openssl command, which makes the test certificate, is not installed)", () => {
  it("answers through TLS with STARLING_EXTRA_CA_CERTS; without it the turn fails naming the certificate problem", async (ctx) => {
    const env = await newEnv(ctx, { replies: [{ text: "hello over TLS" }] });
    const front = await httpsFront(ca!, env.fake.url);
    ctx.onTestFinished(() => front.close());
    const modelUrl = front.origin + new URL(env.fake.url).pathname;

    const untrusted = await env.start({ modelUrl, sessionId: "plain.foreground" });
    await untrusted.client.enqueue(userMessage("m1", "hi"));
    const failed = await untrusted.waitForEvent("turn_failed");
    expect(failed.error.message).toMatch(/self[- ]signed|unable to verify/i);
    expect(env.fake.requests).toHaveLength(0);

    const trusted = await env.start({ modelUrl, sessionId: "ca.foreground", env: { STARLING_EXTRA_CA_CERTS: ca!.certFile } });
    await trusted.client.enqueue(userMessage("m2", "hi"));
    const done = await trusted.waitForEvent("turn_completed");
    expect(done.message.content).toEqual([{ type: "text", text: "hello over TLS" }]);
    expect(env.fake.requests).toHaveLength(1);
  });
});
