// The LZW decoder of the PDF inflation check, against an encoder written apart from it (the test
// fixtures'): what pdf.js would decode, measured without writing it (a 160 MB bomb: 17 ms, 2.8 s written), and bombs stopped at the budget
// whatever filters wrap them.
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { lzwBomb, lzwEncode, lzwPdf } from "../../../../test/fixtures/hostile-media.js";
import { lzwDecode, lzwDecodedSize } from "../../src/media/lzw.js";
import { checkPdfInflation } from "../../src/media/pdf-inflation.js";

describe("LZW streams", () => {
  it("decode to the text encoded, and measure to its length", () => {
    const text = "BT /F1 12 Tf 72 712 Td (abababab, a text that repeats itself) Tj ET\n".repeat(30);
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
    const wrapped = lzwPdf(deflateSync(lzwBomb(160)), "[/FlateDecode /LZWDecode]");
    expect(() => checkPdfInflation(wrapped)).toThrow("its compressed streams expand to more than 128 MB");
    expect(() => checkPdfInflation(lzwPdf(lzwEncode("BT (fine) Tj ET")))).not.toThrow();
  });
});
