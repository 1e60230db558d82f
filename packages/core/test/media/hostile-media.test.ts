// Hostile or broken media files (made here, not stored): normalisation before a model call turns each
// into a note naming the problem, within bounded time and memory, instead of failing the turn.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, ModelConfig, TranscriptItem } from "@starling/protocol";
import { ascii85Encode, filteredPdf, flateBombPdf, lzwBombPdf, lzwEncode, manyPagePdf, runLengthBomb, truncatedPng } from "../../../../test/fixtures/hostile-media.js";
import { CRASHED_FILE_HEADER, normalizeMessages, PDF_TEXT_HEADER } from "../../src/media/normalize.js";
import { mediaModel } from "./media-model.js";

let dir: string;
const file = (name: string, mediaType: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType });
const model = mediaModel;
/** The default: images in, no `multimodal_input.image` limits configured. */
const unlimited = model({ capabilities: ["chat", "image_in"] });
const fitting = model({ capabilities: ["chat", "image_in"], multimodal_input: { image: { transport: "inline_base64", max_width: 2048, max_height: 2048 } } });
const normalizeOne = async (config: ModelConfig, item: FileItem): Promise<TranscriptItem> =>
  (await normalizeMessages(config, [{ index: 0, role: "user", time: "2026-01-01T00:00:00Z", content: [item] }]))[0]!.content[0]!;
const noisyJpeg = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 40 } } }).jpeg({ quality: 90 }).toBuffer();
const noteOf = (item: TranscriptItem): string => (item.type === "text" ? item.text : `(a ${item.type} item)`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-hostile-media-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hostile images", () => {
  it("an image whose pixel data is cut short becomes a crashed note, not a failed turn", async () => {
    // Headers say 16000×16000 (under sharp's pixel limit, so it is decoded to be shrunk); the data stops early.
    await writeFile(join(dir, "cut.png"), truncatedPng(16000, 16000, 10));
    const jpeg = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: "#888" } }).jpeg().toBuffer());
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(16000, sof + 5);
    jpeg.writeUInt16BE(16000, sof + 7);
    await writeFile(join(dir, "cut.jpg"), jpeg);

    const png = noteOf(await normalizeOne(fitting, file("cut.png", "image/png")));
    expect(png.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(png).toMatch(/reason: the image could not be decoded \(.*libpng read error/);
    expect(png).not.toMatch(/\nvips2png/); // libvips's second line stays on the reason's line
    const jpg = noteOf(await normalizeOne(fitting, file("cut.jpg", "image/jpeg")));
    expect(jpg.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(jpg).toContain("the image could not be decoded (VipsJpeg: Corrupt JPEG data");
  });

  it("an image declaring more pixels than the decoder allows becomes a crashed note", async () => {
    await writeFile(join(dir, "bomb.png"), truncatedPng(50_000, 50_000, 1));
    const note = noteOf(await normalizeOne(fitting, file("bomb.png", "image/png")));
    expect(note.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(note).toContain("Input image exceeds pixel limit");
  });
});

describe("hostile images that need no shrinking (no limits configured, or within them)", () => {
  it("an image whose pixel data is cut short becomes a crashed note instead of going to the model", async () => {
    await writeFile(join(dir, "plain-cut.png"), truncatedPng(2000, 1500, 10));
    const photo = await noisyJpeg(1200, 900);
    await writeFile(join(dir, "plain-cut.jpg"), photo.subarray(0, Math.floor(photo.length * 0.6)));

    // Also with limits set that these sizes fit in: only the header used to be read then.
    for (const config of [unlimited, fitting]) {
      const png = noteOf(await normalizeOne(config, file("plain-cut.png", "image/png")));
      expect(png.startsWith(CRASHED_FILE_HEADER)).toBe(true);
      expect(png).toMatch(/reason: the image could not be decoded \(.*libpng read error/);
      const jpg = noteOf(await normalizeOne(config, file("plain-cut.jpg", "image/jpeg")));
      expect(jpg.startsWith(CRASHED_FILE_HEADER)).toBe(true);
      expect(jpg).toContain("the image could not be decoded (VipsJpeg: premature end of JPEG image");
    }
  });

  it("an image declaring more pixels than the decoder allows is refused from its header and becomes a crashed note", async () => {
    await writeFile(join(dir, "plain-bomb.png"), truncatedPng(50_000, 50_000, 1));
    const note = noteOf(await normalizeOne(unlimited, file("plain-bomb.png", "image/png")));
    expect(note.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    // The refusal names the pixel limit: sharp refuses it from the header (metadata), before any pixel buffer. Not timed
    // (a loaded CI machine made a 1 s bound flaky); with limitInputPixels off the note names another error.
    expect(note).toContain("Input image exceeds pixel limit");
  });

  it("a sound image within limits still goes to the model byte for byte", async () => {
    const photo = await noisyJpeg(1200, 900);
    await writeFile(join(dir, "plain.jpg"), photo);
    for (const config of [unlimited, fitting]) {
      const out = await normalizeOne(config, file("plain.jpg", "image/jpeg"));
      expect(out.type).toBe("file");
      const uri = (out as FileItem).uri;
      expect(uri.startsWith("data:image/jpeg;base64,")).toBe(true);
      expect(Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64").equals(photo)).toBe(true);
    }
  });
});

describe("sound images larger than a provider accepts", () => {
  const sentImage = async (config: ModelConfig, name: string): Promise<{ mediaType: string; width?: number; height?: number }> => {
    const out = await normalizeOne(config, file(name, "image/png"));
    expect(out.type).toBe("file");
    const uri = (out as FileItem).uri;
    const { width, height } = await sharp(Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64")).metadata();
    return { mediaType: uri.slice(5, uri.indexOf(";")), width, height };
  };

  it("are shrunk to 8000 px on a side (Anthropic's limit) when no limits are configured", async () => {
    await writeFile(join(dir, "wide.png"), await sharp({ create: { width: 9000, height: 300, channels: 3, background: "#3366cc" } }).png().toBuffer());
    expect(await sentImage(unlimited, "wide.png")).toEqual({ mediaType: "image/png", width: 8000, height: 267 });
  });

  it("are shrunk to 8000 px on the side whose limit is not configured", async () => {
    await writeFile(join(dir, "tall.png"), await sharp({ create: { width: 300, height: 9000, channels: 3, background: "#3366cc" } }).png().toBuffer());
    const widthOnly = model({ capabilities: ["chat", "image_in"], multimodal_input: { image: { transport: "inline_base64", max_width: 4096 } } });
    expect(await sentImage(widthOnly, "tall.png")).toEqual({ mediaType: "image/png", width: 267, height: 8000 });
  });
});

describe("hostile PDFs (a model without pdf_in gets their text)", () => {
  it("a PDF of thousands of pages is read only until the text limit, not page by page to the end", async () => {
    await writeFile(join(dir, "long.pdf"), manyPagePdf(3000));
    const text = noteOf(await normalizeOne(model({}), file("long.pdf", "application/pdf")));
    expect(text.startsWith(PDF_TEXT_HEADER)).toBe(true);
    // The pages read are counted by the reader itself, not timed: a loaded CI machine made a 5 s bound flaky.
    const read = Number(/^pages: 3000 \(text of the first (\d+) read\)$/m.exec(text)?.[1]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(3000);
    expect(text).toContain("Page 1 of the long document");
    expect(text).toContain("[... text cut;");
  });

  it("a PDF whose stream inflates to 256 MB is refused as a decompression bomb before pdf.js inflates it", async () => {
    await writeFile(join(dir, "bomb.pdf"), flateBombPdf(256));
    const note = noteOf(await normalizeOne(model({}), file("bomb.pdf", "application/pdf")));
    expect(note.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(note).toContain("its compressed streams expand to more than 128 MB (a decompression bomb?)");
  });

  it("a PDF whose LZW stream decodes to 160 MB is refused the same way, and a plain LZW PDF is read", { timeout: 60_000 }, async () => {
    await writeFile(join(dir, "lzw-bomb.pdf"), lzwBombPdf(160));
    const note = noteOf(await normalizeOne(model({}), file("lzw-bomb.pdf", "application/pdf")));
    expect(note.startsWith(CRASHED_FILE_HEADER)).toBe(true);
    expect(note).toContain("its compressed streams expand to more than 128 MB (a decompression bomb?)");

    await writeFile(join(dir, "lzw.pdf"), filteredPdf(lzwEncode("BT /F1 12 Tf 72 712 Td (Text kept in an LZW stream, read by pdf.js.) Tj ET")));
    const text = noteOf(await normalizeOne(model({}), file("lzw.pdf", "application/pdf")));
    expect(text.startsWith(PDF_TEXT_HEADER)).toBe(true);
    expect(text).toContain("Text kept in an LZW stream, read by pdf.js.");
  });

  it("a RunLength stream decoding to 160 MB, and a Flate bomb behind ASCII85, are refused the same way", { timeout: 60_000 }, async () => {
    await writeFile(join(dir, "rl-bomb.pdf"), filteredPdf(runLengthBomb(160), "/RunLengthDecode"));
    await writeFile(join(dir, "a85-bomb.pdf"), filteredPdf(ascii85Encode(deflateSync(Buffer.alloc(160 * 1024 * 1024, 0x20), { level: 9 })), "[/ASCII85Decode /FlateDecode]"));
    for (const name of ["rl-bomb.pdf", "a85-bomb.pdf"]) {
      const note = noteOf(await normalizeOne(model({}), file(name, "application/pdf")));
      expect(note.slice(0, 300)).toContain(CRASHED_FILE_HEADER);
      expect(note).toContain("its compressed streams expand to more than 128 MB (a decompression bomb?)");
    }
  });
});
