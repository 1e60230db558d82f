// A model endpoint behind a private CA, end to end: the host was started with NODE_EXTRA_CA_CERTS naming
// the CA (as a user behind a company proxy does); its workers — started from the snapshot blob, warm
// spares included — reach the model through TLS and the chat gets the answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { httpsFront, makePrivateCa } from "../fakes/private-ca.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E, type HostConfig } from "./fixture.js";

const ca = makePrivateCa();
const chat = privateChat(841, "PrivateCa");
let e2e: E2E;
let front: Awaited<ReturnType<typeof httpsFront>> | undefined;

const respond = (req: RecordedRequest): ScriptedReply => ({ text: `over TLS: ${lastUserText(req)}` });

describe.skipIf(!ca)("private CA (skipped: the openssl command, which makes the test certificate, is not installed)", () => {
  beforeAll(async () => {
    let modelUrl = "";
    front = await httpsFront(ca!, () => modelUrl);
    const origin = front.origin;
    e2e = await startE2E({
      responder: respond,
      start: false,
      // The host's config names the https front; the front passes calls on to the fake model.
      config: (fakes) => {
        modelUrl = fakes.modelUrl;
        return { adminUserIds: [chat.id], modelUrl: origin + new URL(fakes.modelUrl).pathname } as HostConfig;
      },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await front?.close();
    ca?.cleanup();
  });

  it("the host's NODE_EXTRA_CA_CERTS reaches its workers: the model behind the CA answers", async () => {
    e2e.start({ NODE_EXTRA_CA_CERTS: ca!.certFile });
    expect(await e2e.ask(chat, "hello", { timeoutMs: 40_000 })).toMatch(/^over TLS: [\s\S]*hello$/);
    expect(await e2e.ask(chat, "again", { timeoutMs: 40_000 })).toMatch(/^over TLS: [\s\S]*again$/);
  });
});
