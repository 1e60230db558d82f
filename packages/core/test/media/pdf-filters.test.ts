// The stream decoders of the PDF inflation check, against encoders written apart from them (the test
// fixtures'): they give what pdf.js would decode, the last LZW layer is measured without being written
// (a 160 MB bomb: 17 ms, 2.8 s written), and bombs are stopped at the budget whatever filters wrap them.
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ascii85Encode, filteredPdf, lzwBomb, lzwEncode, runLengthBomb } from "../../../../test/fixtures/hostile-media.js";
import { lzwDecode, lzwDecodedSize } from "../../src/media/lzw.js";
import { ascii85Decode, asciiHexDecode, runLengthDecode, runLengthDecodedSize } from "../../src/media/pdf-filters.js";
import { checkPdfInflation } from "../../src/media/pdf-inflation.js";

const text = "BT /F1 12 Tf 72 712 Td (abababab, a text that repeats itself) Tj ET\n".repeat(30);
const bombError = "its compressed streams expand to more than 128 MB";

describe("LZW streams", () => {
  it("decode to the text encoded, and measure to its length", () => {
    expect(lzwDecode(lzwEncode(text), 1, 1e9)?.toString("latin1")).toBe(text);
    expect(lzwDecodedSize(lzwEncode(text), 1, 1e9)).toBe(text.length);
  });

  it("a bomb is measured to its size, and stopped past the budget", () => {
    const bomb = lzwBomb(10);
    const size = lzwDecodedSize(bomb, 1, 1e9)!;
    expect(size).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(lzwDecode(bomb, 1, 1e9)!.length).toBe(size);
    expect(lzwDecode(bomb, 1, size - 1)).toBeNull();
    expect(lzwDecodedSize(lzwBomb(160), 1, 128 * 1024 * 1024)).toBeNull();
  });

  it("a PDF whose bomb is deflated on top of its LZW ([/FlateDecode /LZWDecode]) is refused", () => {
    expect(() => checkPdfInflation(filteredPdf(deflateSync(lzwBomb(160)), "[/FlateDecode /LZWDecode]"))).toThrow(bombError);
    expect(() => checkPdfInflation(filteredPdf(lzwEncode("BT (fine) Tj ET")))).not.toThrow();
  });
});

describe("ASCIIHex, ASCII85 and RunLength streams", () => {
  it("decode to the bytes encoded", () => {
    const bytes = Buffer.concat([Buffer.from(text, "latin1"), Buffer.alloc(9), Buffer.from([0xff, 0x00, 0x7f])]);
    const hex = bytes.toString("hex").replace(/(.{60})/g, "$1\n");
    expect(asciiHexDecode(Buffer.from(`${hex}>`, "latin1"), 1e9)).toEqual(bytes);
    expect(asciiHexDecode(Buffer.from("4a6>", "latin1"), 1e9)).toEqual(Buffer.from([0x4a, 0x60]));
    for (let cut = 0; cut < 4; cut++) expect(ascii85Decode(ascii85Encode(bytes.subarray(cut)), 1e9)).toEqual(bytes.subarray(cut));
    const runs = Buffer.from([2, 0x61, 0x62, 0x63, 253, 0x7a, 128, 0x21]);
    expect(runLengthDecode(runs, 1e9)).toEqual(Buffer.from("abczzzz", "latin1"));
    expect(runLengthDecodedSize(runs, 1e9)).toBe(7);
    expect(runLengthDecodedSize(runLengthBomb(160), 128 * 1024 * 1024)).toBeNull();
  });

  it("a Flate bomb behind ASCIIHex or ASCII85, and a RunLength bomb alone, are refused; a plain ASCII85 + Flate PDF is not", () => {
    const flateBomb = deflateSync(Buffer.alloc(160 * 1024 * 1024, 0x20), { level: 9 });
    expect(() => checkPdfInflation(filteredPdf(Buffer.from(`${flateBomb.toString("hex")}>`, "latin1"), "[/ASCIIHexDecode /FlateDecode]"))).toThrow(bombError);
    expect(() => checkPdfInflation(filteredPdf(ascii85Encode(flateBomb), "[/A85 /Fl]"))).toThrow(bombError);
    expect(() => checkPdfInflation(filteredPdf(runLengthBomb(160), "/RunLengthDecode"))).toThrow(bombError);
    expect(() => checkPdfInflation(filteredPdf(ascii85Encode(deflateSync(text)), "[/ASCII85Decode /FlateDecode]"))).not.toThrow();
  });
});
