import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOOL_NAMES, type ModelConfig } from "@starling/protocol";
import { startFakeBrave, type FakeBrave } from "../../../../test/fakes/brave-server.js";
import { startFakeImages, TINY_PNG, type FakeImages } from "../../../../test/fakes/image-server.js";
import { startFakeOpenAI, type FakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { makePdf } from "../../../../test/fixtures/media-files.js";
import { createHelperModels } from "../../src/providers/helper-models.js";
import { sessionToolset } from "../../src/tools/session-toolset.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";
import type { ToolRunResult } from "../../src/tools/types.js";
import { makeHarness, type Harness } from "./helpers.js";

const ENV = { HELPER_KEY: "k-helper", BRAVE_KEY: "k-brave", IMAGE_KEY: "k-image" };
let openai: FakeOpenAI;
let brave: FakeBrave;
let images: FakeImages;
let base: Harness;

const model = (extra: Partial<ModelConfig> & Pick<ModelConfig, "url">): ModelConfig => ({
  provider_type: "open_router_completion",
  model_name: "main-model",
  capabilities: ["chat"],
  retry_mode: "once",
  ...extra,
});

/** A runtime with the session catalog built from `main` and `helpers` (as the worker does). */
function runtimeFor(main: ModelConfig, helperModels: Record<string, ModelConfig>) {
  const helpers = createHelperModels(main, helperModels, ENV);
  const set = sessionToolset({ workspace: base.workspace, sessionId: "media.foreground", model: main, helpers });
  const runtime = new ToolRuntime({ workspace: base.workspace, sessionId: "media.foreground", coordinate: async () => null, tools: set.tools, network: set.network, helpers });
  let n = 0;
  return {
    names: runtime.catalog().map((t) => t.name),
    catalog: runtime.catalog(),
    call: (name: string, args: Record<string, unknown>): Promise<ToolRunResult> =>
      runtime.run({ id: `m_${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal: new AbortController().signal }),
  };
}

beforeAll(async () => {
  [openai, brave, images, base] = await Promise.all([startFakeOpenAI({ apiKey: ENV.HELPER_KEY }), startFakeBrave({ apiKey: ENV.BRAVE_KEY }), startFakeImages({ apiKey: ENV.IMAGE_KEY }), makeHarness()]);
  await writeFile(join(base.workspace, "cat.png"), await sharp({ create: { width: 64, height: 48, channels: 3, background: "#888" } }).png().toBuffer());
  await writeFile(join(base.workspace, "not-an-image.png"), "plain text");
  await writeFile(join(base.workspace, "report.pdf"), makePdf(["Hello PDF"]));
});

afterAll(async () => {
  await Promise.all([openai.close(), brave.close(), images.close(), base.cleanup()]);
});

describe("session catalog (reference §3.2)", () => {
  it("offers *_load to a model that reads the media itself, *_analysis when a helper does", () => {
    const vision = runtimeFor(model({ url: openai.url, capabilities: ["chat", "image_in", "audio_in"] }), {});
    expect(vision.names).toEqual(expect.arrayContaining(["image_load", "audio_load", "pdf_load", "web_fetch", "file_download_start"]));
    expect(vision.names).not.toContain("image_analysis");
    expect(vision.names).not.toContain("web_search");

    const helper = model({ url: openai.url, model_name: "helper", capabilities: ["chat", "image_in", "pdf_in"], api_key_env: "HELPER_KEY" });
    const textOnly = runtimeFor(model({ url: openai.url }), {
      image_tool_model: helper,
      pdf_tool_model: helper,
      search_tool_model: { provider_type: "brave_search", model_name: "brave", url: brave.url, api_key_env: "BRAVE_KEY", capabilities: ["web_search"] },
      image_generation_tool_model: { provider_type: "openai_image", model_name: "gpt-image-1", url: images.url, api_key_env: "IMAGE_KEY", capabilities: ["image_out"] },
    });
    expect(textOnly.names).toEqual(expect.arrayContaining(["image_analysis", "image_analysis_stop", "pdf_analysis", "pdf_analysis_stop", "web_search", "image_generation", "image_generation_stop"]));
    for (const absent of ["image_load", "pdf_load", "audio_load", "audio_analysis"]) expect(textOnly.names).not.toContain(absent);

    // Every tool is one the config knows (tools.deny) and describes each of its arguments.
    const listed = new Set<string>(TOOL_NAMES);
    for (const tool of [...vision.catalog, ...textOnly.catalog]) {
      expect(listed.has(tool.name), tool.name).toBe(true);
      const props = (tool.parameters as { properties: Record<string, { description?: string }> }).properties;
      for (const [name, prop] of Object.entries(props)) expect(prop.description, `${tool.name}.${name}`).toBeTruthy();
    }
  });
});

describe("media tools", () => {
  it("image_load attaches the file; a file that is not an image is reported crashed", async () => {
    const rt = runtimeFor(model({ url: openai.url, capabilities: ["chat", "image_in"] }), {});
    const ok = await rt.call("image_load", { path: "cat.png" });
    expect(ok.isError).toBe(false);
    expect(JSON.parse(ok.content)).toMatchObject({ status: "loaded", path: "cat.png", media_type: "image/png" });
    expect(ok.files).toEqual([expect.objectContaining({ type: "file", name: "cat.png", mediaType: "image/png" })]);
    const bad = await rt.call("image_load", { path: "not-an-image.png" });
    expect(JSON.parse(bad.content)).toMatchObject({ status: "crashed", reason: expect.stringContaining("not an image") });
    const missing = await rt.call("image_load", { path: "nope.png" });
    expect(missing.content).toContain("image path is not a file: nope.png");
    const escape = await rt.call("pdf_load", { path: "../x.pdf" });
    expect(escape.details?.kind).toBe("path_escape");
  });

  it("image_analysis asks the helper model with the image attached and returns its answer, again to a second wait", async () => {
    const helper = model({ url: openai.url, model_name: "vision-helper", capabilities: ["chat", "image_in"], api_key_env: "HELPER_KEY" });
    const rt = runtimeFor(model({ url: openai.url }), { image_tool_model: helper });
    openai.push({ text: "A grey rectangle." });
    const before = openai.requests.length;
    const r = await rt.call("image_analysis", { path: "cat.png", question: "What is this?" });
    expect(r.content).toBe("A grey rectangle.");
    const sent = openai.requests[before]!.body as { model: string; messages: { content: { type: string; text?: string; image_url?: { url: string } }[] }[] };
    expect(sent.model).toBe("vision-helper");
    const parts = sent.messages[0]!.content;
    expect(parts[0]!.text).toContain("What is this?");
    expect(parts[1]!.image_url!.url.startsWith("data:image/png;base64,")).toBe(true);

    openai.push({ text: "later", delayMs: 300 });
    const started = JSON.parse((await rt.call("image_analysis", { path: "cat.png", return_immediate: true })).content) as { status: string; image_id: string };
    expect(started.status).toBe("running");
    const answer = await rt.call("image_analysis", { image_id: started.image_id, wait_timeout_seconds: 10 });
    expect(answer.content).toBe("later");
    const again = await rt.call("image_analysis", { image_id: started.image_id });
    expect(again.content).toBe("later"); // kept: a second wait (a retried call) gets the answer again
    const unknown = await rt.call("image_analysis", { image_id: "image_nosuchjob1" });
    expect(unknown.content).toContain("unknown media job id image_nosuchjob1");
  });

  it("a job's answer that came after its turn is given by a later worker; one a restart cut off says it was interrupted", async () => {
    const helper = model({ url: openai.url, model_name: "vision-helper", capabilities: ["chat", "image_in"], api_key_env: "HELPER_KEY" });
    const first = runtimeFor(model({ url: openai.url }), { image_tool_model: helper });
    openai.push({ text: "A grey rectangle, answered after the turn.", delayMs: 200 });
    const started = JSON.parse((await first.call("image_analysis", { path: "cat.png", return_immediate: true })).content) as { image_id: string };
    const record = join(base.workspace, ".starling/media-jobs/media.foreground", `${started.image_id}.json`);
    await until(() => existsSync(record) && (JSON.parse(readFileSync(record, "utf8")) as { state: string }).state === "completed");
    // The worker idled out or crashed here: the next one has its own toolset.
    const later = runtimeFor(model({ url: openai.url }), { image_tool_model: helper });
    expect((await later.call("image_analysis", { image_id: started.image_id })).content).toBe("A grey rectangle, answered after the turn.");

    openai.push({ text: "never", hang: true });
    const cut = JSON.parse((await first.call("image_analysis", { path: "cat.png", return_immediate: true })).content) as { image_id: string };
    const next = runtimeFor(model({ url: openai.url }), { image_tool_model: helper });
    const interrupted = await next.call("image_analysis", { image_id: cut.image_id });
    expect(interrupted.isError).toBe(true);
    expect(JSON.parse(interrupted.content)).toMatchObject({ status: "failed", image_id: cut.image_id, error: expect.stringContaining("interrupted: the session's worker stopped") });
    await first.call("image_analysis_stop", { image_id: cut.image_id });
    expect((await next.call("image_analysis", { image_id: cut.image_id })).content).toContain('"status":"cancelled"');
  });

  it("a record in the workspace never attaches a file: a later worker gives the stored text only", async () => {
    const imageModel: Record<string, ModelConfig> = {
      image_generation_tool_model: { provider_type: "openai_image", model_name: "gpt-image-1", url: images.url, api_key_env: "IMAGE_KEY", capabilities: ["image_out"] },
    };
    const rt = runtimeFor(model({ url: openai.url }), imageModel);
    images.push({});
    const made = await rt.call("image_generation", { prompt: "moon", wait_timeout_seconds: 0 });
    const id = (JSON.parse(made.content) as { generation_id: string }).generation_id;
    const record = join(base.workspace, ".starling/media-jobs/media.foreground", `${id}.json`);
    await until(() => existsSync(record) && (JSON.parse(readFileSync(record, "utf8")) as { state: string }).state === "completed");
    // The agent rewrites the record (the workspace is its own): the text is its own words, and nothing is attached.
    const stored = JSON.parse(readFileSync(record, "utf8")) as { file_paths?: string[] };
    expect(stored.file_paths).toEqual([expect.stringMatching(/^generated\/image-.*\.png$/)]);
    const later = runtimeFor(model({ url: openai.url }), imageModel);
    // Never waited for before: the answer names its image (not attached from a record).
    const first = await later.call("image_generation", { generation_id: id });
    expect(first.content).toContain(`(The file of this answer, not attached here: ${stored.file_paths![0]}. image_load or pdf_load shows one.)`);
    expect(first.files ?? []).toEqual([]);
    const forged = { ...stored, text: "forged", file_paths: ["/etc/passwd"], uri: "file:///etc/passwd" };
    await writeFile(record, JSON.stringify(forged));
    const r = await later.call("image_generation", { generation_id: id });
    expect(r.content).toBe("forged\n(The file of this answer, not attached here: /etc/passwd. image_load or pdf_load shows one.)");
    expect(r.files ?? []).toEqual([]);
    await writeFile(record, "{not json");
    expect((await later.call("image_generation", { generation_id: id })).content).toContain(`unknown media job id ${id}`);
  });

  it("image_analysis_stop cancels a running job", async () => {
    const helper = model({ url: openai.url, model_name: "vision-helper", capabilities: ["chat", "image_in"], api_key_env: "HELPER_KEY" });
    const rt = runtimeFor(model({ url: openai.url }), { image_tool_model: helper });
    openai.push({ text: "never", hang: true });
    const started = JSON.parse((await rt.call("image_analysis", { path: "cat.png", return_immediate: true })).content) as { image_id: string };
    const stopped = JSON.parse((await rt.call("image_analysis_stop", { image_id: started.image_id })).content);
    expect(stopped).toEqual({ tool: "media", status: "cancelled", image_id: started.image_id });
  });

  it("image_generation saves the image in the workspace and says how to attach it", async () => {
    const rt = runtimeFor(model({ url: openai.url }), {
      image_generation_tool_model: { provider_type: "openai_image", model_name: "gpt-image-1", url: images.url, api_key_env: "IMAGE_KEY", capabilities: ["image_out"] },
    });
    images.push({ revisedPrompt: "a moon over the sea" });
    const r = await rt.call("image_generation", { prompt: "moon" });
    expect(r.isError).toBe(false);
    const path = /<attachment>(generated\/image-[^<]+\.png)<\/attachment>/.exec(r.content)?.[1];
    expect(path).toBeTruthy();
    expect(readFileSync(join(base.workspace, path!)).equals(TINY_PNG)).toBe(true);
    expect(r.content).toContain("Revised prompt: a moon over the sea");
    expect(r.files?.[0]).toMatchObject({ mediaType: "image/png" });
    expect(existsSync(join(base.workspace, path!))).toBe(true);
  });

  it("web_search goes through the Brave search model when one is configured", async () => {
    const rt = runtimeFor(model({ url: openai.url }), {
      search_tool_model: { provider_type: "brave_search", model_name: "brave", url: brave.url, api_key_env: "BRAVE_KEY", capabilities: ["web_search"] },
    });
    brave.push({ results: [{ title: "Moon - Wikipedia", url: "https://en.wikipedia.org/wiki/Moon", description: "Earth's satellite", extra_snippets: ["Natural satellite"] }] });
    const r = await rt.call("web_search", { query: "moon", max_results: 50 });
    const value = JSON.parse(r.content) as { query: string; answer: string; citations: string[]; results: unknown[] };
    expect(value.citations).toEqual(["https://en.wikipedia.org/wiki/Moon"]);
    expect(value.answer).toContain("1. Moon - Wikipedia");
    expect(value.results).toEqual([{ title: "Moon - Wikipedia", url: "https://en.wikipedia.org/wiki/Moon", description: "Earth's satellite", extra_snippets: ["Natural satellite"] }]);
    const query = new URL(brave.requests.at(-1)!.path, "http://x").searchParams;
    expect(query.get("q")).toBe("moon");
    expect(query.get("count")).toBe("20");
  });

  it("pdf_load attaches a PDF even for a model without pdf_in (it then gets the text)", async () => {
    const rt = runtimeFor(model({ url: openai.url }), {});
    const r = await rt.call("pdf_load", { path: "report.pdf" });
    expect(JSON.parse(r.content)).toMatchObject({ status: "loaded", media_type: "application/pdf" });
    expect(r.files?.[0]?.uri.startsWith("file://")).toBe(true);
  });
});

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
}
