import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import { makePdf, makeWav } from "../../../../test/fixtures/media-files.js";
import { buildChatRequest } from "../../src/providers/chat-completions/request-mapping.js";
import { AUDIO_TEXT_HEADER, CRASHED_FILE_HEADER, normalizeMessages, PDF_TEXT_HEADER } from "../../src/media/normalize.js";
import { mediaModel } from "./media-model.js";

let dir: string;
const file = (name: string, mediaType?: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, ...(mediaType ? { mediaType } : {}) });
const model = mediaModel;
const userMessage = (...items: TranscriptMessage["content"]): TranscriptMessage => ({ index: 0, role: "user", time: "2026-01-01T00:00:00Z", content: items });
const only = async (config: ModelConfig, item: FileItem, role: TranscriptMessage["role"] = "user") =>
  (await normalizeMessages(config, [{ ...userMessage(item), role }]))[0]!.content[0]!;
const dataBytes = (uri: string) => Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-media-"));
  await writeFile(join(dir, "wide.png"), await sharp({ create: { width: 8000, height: 2000, channels: 3, background: "#3366cc" } }).png().toBuffer());
  await writeFile(join(dir, "small.webp"), await sharp({ create: { width: 40, height: 30, channels: 3, background: "#cc3366" } }).webp().toBuffer());
  await writeFile(join(dir, "doc.pdf"), makePdf(["Quarterly report", "Revenue grew by 42 percent."]));
  await writeFile(join(dir, "voice.wav"), makeWav(2.5));
  await writeFile(join(dir, "fake.mp3"), "this is plain text, not audio");
  await writeFile(join(dir, "notes.bin"), "x");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("media normalisation before a model call", () => {
  it("shrinks an image to the model's multimodal_input limits, keeping its aspect ratio and format", async () => {
    const config = model({ capabilities: ["chat", "image_in"], multimodal_input: { image: { transport: "inline_base64", max_width: 4096, max_height: 4096 } } });
    const out = await only(config, file("wide.png", "image/png"));
    expect(out).toMatchObject({ type: "file", mediaType: "image/png", name: "wide.png" });
    const meta = await sharp(dataBytes((out as FileItem).uri)).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([4096, 1024, "png"]);
  });

  it("re-encodes an image whose type the model does not accept", async () => {
    const config = model({ capabilities: ["chat", "image_in"], multimodal_input: { image: { transport: "inline_base64", supported_media_types: ["image/png"] } } });
    const out = (await only(config, file("small.webp", "image/webp"))) as FileItem;
    expect(out.uri.startsWith("data:image/png;base64,")).toBe(true);
    expect((await sharp(dataBytes(out.uri)).metadata()).format).toBe("png");
  });

  it("gives a model without pdf_in the PDF's text, and one with pdf_in the PDF itself", async () => {
    const text = await only(model({}), file("doc.pdf", "application/pdf"));
    expect(text.type).toBe("text");
    const body = (text as { text: string }).text;
    expect(body.startsWith(PDF_TEXT_HEADER)).toBe(true);
    expect(body).toContain("pages: 1");
    expect(body).toContain("Revenue grew by 42 percent.");
    expect(body).toContain(`path: ${join(dir, "doc.pdf")}`);

    const native = (await only(model({ capabilities: ["chat", "pdf_in"] }), file("doc.pdf", "application/pdf"))) as FileItem;
    expect(native.type).toBe("file");
    expect(native.uri.startsWith("data:application/pdf;base64,")).toBe(true);
    expect(dataBytes(native.uri).subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("describes audio to a model without audio_in (type, duration) and inlines it for one with it", async () => {
    const desc = (await only(model({}), file("voice.wav", "audio/wav"))) as { type: string; text: string };
    expect(desc.text.startsWith(AUDIO_TEXT_HEADER)).toBe(true);
    expect(desc.text).toContain("duration: 2.5 s");
    expect(desc.text).toContain("media_type: audio/wav");
    const native = (await only(model({ capabilities: ["chat", "audio_in"] }), file("voice.wav", "audio/wav"))) as FileItem;
    expect(native.uri.startsWith("data:audio/wav;base64,")).toBe(true);
  });

  it("turns unreadable or mislabelled files into a crashed note, never an error", async () => {
    const fake = (await only(model({ capabilities: ["chat", "audio_in"] }), file("fake.mp3", "audio/mpeg"))) as { text: string };
    expect(fake.text.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(fake.text).toContain("failed to validate the audio signature");
    const gone = (await only(model({ capabilities: ["chat", "image_in"] }), file("missing.png", "image/png"))) as { text: string };
    expect(gone.text).toContain("does not exist");
    const notPdf = (await only(model({}), file("notes.bin", "application/pdf"))) as { text: string };
    expect(notPdf.text).toContain("not a PDF");
  });

  it("sends file_reference transports and file_in files as they are (their bytes, read here, not re-encoded), and refers to others by text", async () => {
    const ref = model({ capabilities: ["chat", "image_in"], multimodal_input: { image: { transport: "file_reference" } } });
    const asIs = async (name: string, mediaType: string) => ({ type: "file", uri: `data:${mediaType};base64,${(await readFile(join(dir, name))).toString("base64")}`, name, mediaType });
    expect(await only(ref, file("wide.png", "image/png"))).toEqual(await asIs("wide.png", "image/png"));
    expect(await only(model({ capabilities: ["chat", "file_in"] }), file("notes.bin"))).toEqual(await asIs("notes.bin", "application/octet-stream"));
    const plain = (await only(model({}), file("notes.bin"))) as { text: string };
    expect(plain.text).toContain("[File attached as text reference]");
    const noImages = (await only(model({}), file("wide.png", "image/png"))) as { text: string };
    expect(noImages.text).toContain("does not support image input");
    const assistantImage = (await only(model({ capabilities: ["chat", "image_in"] }), file("wide.png", "image/png"), "assistant")) as { text: string };
    expect(assistantImage.text).toContain("assistant history");
  });

  it("reaches the chat-completions wire as a file part (pdf_in) or as text (without)", async () => {
    const history = [userMessage({ type: "text", text: "Summarise this" }, file("doc.pdf", "application/pdf"))];
    const withPdf = model({ capabilities: ["chat", "pdf_in"] });
    const native = await buildChatRequest(withPdf, { system: "", tools: [], messages: await normalizeMessages(withPdf, history) });
    const parts = native.messages[0]!.content as { type: string; file?: { filename: string; file_data: string } }[];
    expect(parts.map((p) => p.type)).toEqual(["text", "file"]);
    expect(parts[1]!.file).toMatchObject({ filename: "doc.pdf" });
    expect(parts[1]!.file!.file_data.startsWith("data:application/pdf;base64,")).toBe(true);

    const textOnly = model({});
    const downgraded = await buildChatRequest(textOnly, { system: "", tools: [], messages: await normalizeMessages(textOnly, history) });
    expect(typeof downgraded.messages[0]!.content).toBe("string");
    expect(downgraded.messages[0]!.content).toContain("Revenue grew by 42 percent.");
  });
});
