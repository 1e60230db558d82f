import { afterEach, describe, expect, it } from "vitest";
import { startFakeBrave, type FakeBrave } from "../../../../test/fakes/brave-server.js";
import { editForm, startFakeImages, TINY_PNG, type FakeImages } from "../../../../test/fakes/image-server.js";
import { createHelperModels, createImageProvider, createProvider, createSearchProvider, formatSearchAnswer, imageEndpoint } from "../../src/providers/index.js";
import { createModelConfig, ENV, rejection, signal, TEST_KEY } from "./helpers.js";

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});
async function brave(): Promise<FakeBrave> {
  const server = await startFakeBrave({ apiKey: TEST_KEY });
  closers.push(server.close);
  return server;
}
async function images(): Promise<FakeImages> {
  const server = await startFakeImages({ apiKey: TEST_KEY });
  closers.push(server.close);
  return server;
}
const braveModel = (url: string) => createModelConfig(url, { provider_type: "brave_search", model_name: "brave-web-search", capabilities: ["web_search"] });
const imageModel = (url: string) => createModelConfig(url, { provider_type: "openai_image", model_name: "gpt-image-1", capabilities: ["image_out"] });

describe("brave_search", () => {
  it("sends the query with Brave's parameters and maps results (trimmed, empties skipped, at most count)", async () => {
    const server = await brave();
    server.push({
      results: [
        { title: " Starling ", url: "https://a.example/", description: " A bird. ", extra_snippets: [" one ", ""] },
        { title: "", url: "", description: "" },
        { title: "Second", url: "https://b.example/" },
        { title: "Third", url: "https://c.example/" },
      ],
    });
    const results = await createSearchProvider(braveModel(server.url), ENV).search({ query: "starling bird", maxResults: 2, signal: signal() });
    expect(results).toEqual([
      { title: "Starling", url: "https://a.example/", description: "A bird.", extraSnippets: ["one"] },
      { title: "Second", url: "https://b.example/", description: "", extraSnippets: [] },
    ]);
    const req = server.requests[0]!;
    expect(req.method).toBe("GET");
    expect(req.headers["x-subscription-token"]).toBe(TEST_KEY);
    expect(Object.fromEntries(new URL(req.path, "http://x").searchParams)).toEqual({
      q: "starling bird",
      count: "2",
      result_filter: "web",
      text_decorations: "false",
      extra_snippets: "true",
    });
    expect(formatSearchAnswer(results)).toBe("1. Starling\nURL: https://a.example/\nSnippet: A bird.\nExtra snippets: one\n\n2. Second\nURL: https://b.example/");
  });

  it("retries 429, does not retry 401, and names a missing key", async () => {
    const server = await brave();
    server.push({ status: 429, retryAfterSeconds: 0 }, { results: [{ title: "ok", url: "https://ok/" }] });
    const results = await createSearchProvider(braveModel(server.url), ENV).search({ query: "q", maxResults: 50, signal: signal() });
    expect(results).toHaveLength(1);
    expect(new URL(server.requests[1]!.path, "http://x").searchParams.get("count")).toBe("20");
    const auth = await rejection(createSearchProvider(braveModel(server.url), { FAKE_API_KEY: "bad" }).search({ query: "q", maxResults: 5, signal: signal() }));
    expect(auth).toMatchObject({ kind: "auth", status: 401 });
    expect(server.requests).toHaveLength(3);
    const missing = await rejection(createSearchProvider(braveModel(server.url), {}).search({ query: "q", maxResults: 5, signal: signal() }));
    expect(missing.message).toContain("set FAKE_API_KEY");
  });
});

describe("openai_image", () => {
  it("derives endpoints from the configured base URL", () => {
    expect(imageEndpoint("https://api.openai.com/v1/", "generations")).toBe("https://api.openai.com/v1/images/generations");
    expect(imageEndpoint("https://api.openai.com/v1/images/edits", "generations")).toBe("https://api.openai.com/v1/images/generations");
    expect(imageEndpoint("https://api.openai.com/v1/images/generations", "edits")).toBe("https://api.openai.com/v1/images/edits");
  });

  it("generates (JSON) and edits (multipart) and returns PNG bytes and revised prompts", async () => {
    const server = await images();
    server.push({ revisedPrompt: "a starling, watercolour" }, { image: Buffer.from("edited") }, { status: 503 }, { url: "https://cdn.example/x.png" });
    const provider = createImageProvider(imageModel(server.url), ENV);
    const generated = await provider.generate({ prompt: "a starling", signal: signal() });
    expect(generated.revisedPrompts).toEqual(["a starling, watercolour"]);
    expect(generated.images).toEqual([{ kind: "bytes", data: expect.any(Buffer), mediaType: "image/png" }]);
    expect(Buffer.from((generated.images[0] as { data: Uint8Array }).data)).toEqual(TINY_PNG);
    expect(server.requests[0]!.path).toBe("/v1/images/generations");
    expect(server.requests[0]!.body).toEqual({ model: "gpt-image-1", prompt: "a starling", n: 1 });

    const edited = await provider.edit({ prompt: "make it blue", images: [{ data: TINY_PNG, mediaType: "image/png", name: "bird.png" }], signal: signal() });
    expect(Buffer.from((edited.images[0] as { data: Uint8Array }).data).toString()).toBe("edited");
    const form = await editForm(server.requests[1]!);
    expect(server.requests[1]!.path).toBe("/v1/images/edits");
    expect([form.get("model"), form.get("prompt"), form.get("n")]).toEqual(["gpt-image-1", "make it blue", "1"]);
    const file = form.get("image") as File;
    expect(file.name).toBe("bird.png");
    expect(Buffer.from(await file.arrayBuffer())).toEqual(TINY_PNG);

    const retried = await provider.generate({ prompt: "again", signal: signal() });
    expect(retried.images).toEqual([{ kind: "url", url: "https://cdn.example/x.png" }]);
    expect(server.requests).toHaveLength(4);
    await expect(provider.generate({ prompt: "  ", signal: signal() })).rejects.toThrow("requires a prompt");
  });
});

describe("HelperModels", () => {
  it("builds helpers by role, falls back to the session's model, and treats a provider in the wrong role as absent", async () => {
    const search = await brave();
    search.push({ results: [{ title: "hit", url: "https://hit/" }] });
    const main = createModelConfig("http://127.0.0.1:1/v1/chat/completions");
    const analysis = createModelConfig("http://127.0.0.1:1/v1/messages", { provider_type: "claude_code", model_name: "claude-x" });
    const helpers = createHelperModels(main, { search_tool_model: braveModel(search.url), pdf_tool_model: analysis, some_alias: analysis }, ENV);
    expect(await helpers.search()!.search({ query: "q", maxResults: 1, signal: signal() })).toHaveLength(1);
    expect(helpers.search()).toBe(helpers.search());
    expect(helpers.chat("pdf").config).toBe(analysis);
    expect(helpers.chat("image").config).toBe(main);
    expect(helpers.imageGenerator()).toBeUndefined();
    expect(createHelperModels(imageModel("http://127.0.0.1:1/v1"), undefined, ENV).imageGenerator()?.config.provider_type).toBe("openai_image");
    expect(createHelperModels(main, undefined, ENV).search()).toBeUndefined();
    expect(createHelperModels(main, { search_tool_model: analysis, image_generation_tool_model: analysis }, ENV).search()).toBeUndefined();
    expect(createHelperModels(main, { image_generation_tool_model: analysis }, ENV).imageGenerator()).toBeUndefined();
    expect(() => createSearchProvider(analysis, ENV)).toThrow(/needs provider_type "brave_search"/);
    expect(() => createProvider(braveModel(search.url), ENV)).toThrow(/not a chat model: use it as session_defaults.search_tool_model/);
  });
});
