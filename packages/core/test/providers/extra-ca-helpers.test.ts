// The helper services behind a private CA (STARLING_EXTRA_CA_CERTS): Brave search, image edits (a
// multipart POST) and the keyless web search go over node:https with the extra CA, like model calls.
// The variable is set before this file's first https call: a worker's keep-alive client is made once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBrave, type FakeBrave } from "../../../../test/fakes/brave-server.js";
import { startFakeDuckDuckGo, type FakeDuckDuckGo } from "../../../../test/fakes/duckduckgo-html.js";
import { editForm, startFakeImages, TINY_PNG, type FakeImages } from "../../../../test/fakes/image-server.js";
import { httpsFront, makePrivateCa } from "../../../../test/fakes/private-ca.js";
import { createImageProvider, createSearchProvider } from "../../src/providers/index.js";
import { keylessSearch } from "../../src/tools/web/keyless-search.js";
import { createModelConfig, ENV, signal, TEST_KEY } from "./helpers.js";

const ca = makePrivateCa();
let brave: FakeBrave;
let images: FakeImages;
let ddg: FakeDuckDuckGo;
const fronts: Awaited<ReturnType<typeof httpsFront>>[] = [];
/** The https front's URL for an http fake's URL. */
const behind = async (url: string): Promise<string> => {
  const front = await httpsFront(ca!, url);
  fronts.push(front);
  const u = new URL(url);
  return front.origin + u.pathname + u.search;
};

describe.skipIf(!ca)("helper services behind a private CA (skipped: the openssl command, which makes the test certificate, is not installed)", () => {
  beforeAll(async () => {
    process.env.STARLING_EXTRA_CA_CERTS = ca!.certFile;
    brave = await startFakeBrave({ apiKey: TEST_KEY });
    images = await startFakeImages({ apiKey: TEST_KEY });
    ddg = await startFakeDuckDuckGo((q) => [{ title: `${q} found`, url: "https://example.org/1", snippet: "over TLS" }]);
  });
  afterAll(async () => {
    delete process.env.STARLING_EXTRA_CA_CERTS;
    await Promise.all([...fronts.map((f) => f.close()), brave?.close(), images?.close(), ddg?.close()]);
    ca?.cleanup();
  });

  it("brave_search answers through the front", async () => {
    brave.push({ results: [{ title: "Starling", url: "https://a.example/", description: "A bird." }] });
    const model = createModelConfig(await behind(brave.url), { provider_type: "brave_search", model_name: "brave-web-search", capabilities: ["web_search"] });
    const results = await createSearchProvider(model, ENV).search({ query: "starling", maxResults: 3, signal: signal() });
    expect(results).toEqual([{ title: "Starling", url: "https://a.example/", description: "A bird.", extraSnippets: [] }]);
    expect(brave.requests[0]!.method).toBe("GET");
  });

  it("an image edit's multipart form arrives whole through the front", async () => {
    images.push({ image: Buffer.from("edited") });
    const model = createModelConfig(await behind(`${images.origin}/v1/images/edits`), { provider_type: "openai_image", model_name: "gpt-image-1", capabilities: ["image_out"] });
    const edited = await createImageProvider(model, ENV).edit({ prompt: "make it blue", images: [{ data: TINY_PNG, mediaType: "image/png", name: "bird.png" }], signal: signal() });
    expect(Buffer.from((edited.images[0] as { data: Uint8Array }).data).toString()).toBe("edited");
    const form = await editForm(images.requests[0]!);
    expect(form.get("prompt")).toBe("make it blue");
    expect(form.getAll("image")).toHaveLength(1);
  });

  it("the keyless web search reads its results page through the front", async () => {
    const hits = await keylessSearch(await behind(ddg.url), "lunar regolith", 3, signal());
    expect(hits).toEqual([{ title: "lunar regolith found", url: "https://example.org/1", snippet: "over TLS" }]);
  });
});
