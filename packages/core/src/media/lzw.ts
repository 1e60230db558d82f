/** Entries of an LZW code table (12-bit codes). */
const TABLE_SIZE = 4096;

/**
 * Decodes a PDF LZWDecode stream as pdf.js does (9- to 12-bit codes, 256 clears the table, 257 ends it,
 * `earlyChange` 1 unless the stream's /DecodeParms say 0; once the table is full its entries are reused
 * as they are); null as soon as the output would pass `maxBytes`. Data cut short ends it.
 */
export function lzwDecode(input: Uint8Array, earlyChange: number, maxBytes: number): Buffer | null {
  return run(input, earlyChange, maxBytes, true)?.data ?? null;
}

/**
 * The size lzwDecode's output would have, without writing it (a bomb repeating its longest entry is
 * measured in one step a code instead of thousands); null past `maxBytes`.
 */
export function lzwDecodedSize(input: Uint8Array, earlyChange: number, maxBytes: number): number | null {
  return run(input, earlyChange, maxBytes, false)?.size ?? null;
}

function run(input: Uint8Array, earlyChange: number, maxBytes: number, write: boolean): { size: number; data?: Buffer } | null {
  const values = new Uint8Array(TABLE_SIZE);
  const firsts = new Uint8Array(TABLE_SIZE);
  const lengths = new Uint16Array(TABLE_SIZE);
  const previous = new Uint16Array(TABLE_SIZE);
  for (let i = 0; i < 256; i++) [values[i], firsts[i], lengths[i]] = [i, i, 1];
  const sequence = new Uint8Array(TABLE_SIZE + 1);
  let sequenceLength = 0;
  let first = 0;
  let nextCode = 258;
  let width = 9;
  let prevCode = 0;
  let position = 0;
  let cached = 0;
  let bits = 0;
  let out = write ? Buffer.allocUnsafe(Math.min(maxBytes, Math.max(1024, input.length * 4))) : undefined;
  let total = 0;
  for (;;) {
    while (bits < width && position < input.length) {
      cached = ((cached << 8) | input[position++]!) & 0xffffff;
      bits += 8;
    }
    if (bits < width) break;
    bits -= width;
    const code = (cached >>> bits) & ((1 << width) - 1);
    const hadPrevious = sequenceLength > 0;
    if (code < 256) {
      [first, sequenceLength] = [code, 1];
      sequence[0] = code;
    } else if (code === 256) {
      [width, nextCode, sequenceLength] = [9, 258, 0];
      continue;
    } else if (code === 257) {
      break;
    } else if (code < nextCode) {
      [first, sequenceLength] = [firsts[code]!, lengths[code]!];
      if (write) for (let i = sequenceLength - 1, at = code; i >= 0; i--, at = previous[at]!) sequence[i] = values[at]!;
    } else if (sequenceLength < TABLE_SIZE) {
      // the code being defined: the previous sequence and its first byte (pdf.js: also past the next code)
      sequence[sequenceLength++] = first;
    }
    if (hadPrevious) {
      if (nextCode < TABLE_SIZE) {
        previous[nextCode] = prevCode;
        lengths[nextCode] = lengths[prevCode]! + 1;
        values[nextCode] = first;
        firsts[nextCode] = firsts[prevCode]!;
      }
      nextCode++;
      const mark = nextCode + earlyChange;
      if ((mark & (mark - 1)) === 0) width = Math.min(Math.log2(mark) + 1, 12);
    }
    prevCode = code;
    if (total + sequenceLength > maxBytes) return null;
    if (out) {
      if (total + sequenceLength > out.length) {
        const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(out.length * 2, total + sequenceLength)));
        out.copy(grown, 0, 0, total);
        out = grown;
      }
      out.set(sequence.subarray(0, sequenceLength), total);
    }
    total += sequenceLength;
  }
  return { size: total, ...(out ? { data: out.subarray(0, total) } : {}) };
}
