/**
 * The PDF stream filters other than Flate and LZW that pdf.js decodes for text extraction, decoded as
 * it does (lenient: characters that do not belong are skipped); null as soon as the output would pass
 * `maxBytes`. ASCIIHex halves its input and ASCII85 grows it at most 4 times (`z`); RunLength repeats a
 * byte up to 128 times for 2 stored, so it can be a bomb of its own.
 */

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;

/** ASCIIHexDecode: hex digit pairs up to `>`, whitespace skipped, an odd last digit padded with 0. */
export function asciiHexDecode(input: Uint8Array, maxBytes: number): Buffer | null {
  const out = Buffer.allocUnsafe(Math.min(maxBytes, Math.ceil(input.length / 2)));
  let total = 0;
  let high = -1;
  for (const byte of input) {
    if (byte === 0x3e) break;
    const digit = byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66 ? (byte | 0x20) - 0x57 : -1;
    if (digit < 0) continue;
    if (high < 0) {
      high = digit;
      continue;
    }
    if (total >= maxBytes) return null;
    out[total++] = (high << 4) | digit;
    high = -1;
  }
  if (high >= 0) {
    if (total >= maxBytes) return null;
    out[total++] = high << 4;
  }
  return out.subarray(0, total);
}

/** ASCII85Decode: groups of five `!`–`u` to four bytes, `z` for four zeros, up to `~`; a last group of k characters gives k − 1 bytes. */
export function ascii85Decode(input: Uint8Array, maxBytes: number): Buffer | null {
  const out = Buffer.allocUnsafe(Math.min(maxBytes, input.length * 4));
  let total = 0;
  const group: number[] = [];
  const flush = (count: number): boolean => {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 85 + (group[i] ?? 84);
    if (total + count > maxBytes) return false;
    for (let i = 0; i < count; i++) out[total++] = (value >>> (24 - 8 * i)) & 0xff;
    group.length = 0;
    return true;
  };
  for (const byte of input) {
    if (byte === 0x7e) break;
    if (isSpace(byte)) continue;
    if (byte === 0x7a && group.length === 0) {
      if (total + 4 > maxBytes) return null;
      out.fill(0, total, total + 4);
      total += 4;
      continue;
    }
    if (byte < 0x21 || byte > 0x75) continue;
    group.push(byte - 0x21);
    if (group.length === 5 && !flush(4)) return null;
  }
  if (group.length > 1 && !flush(group.length - 1)) return null;
  return out.subarray(0, total);
}

/** RunLengthDecode: a length byte n, then n + 1 bytes as they are (n < 128) or one byte 257 − n times (n > 128); 128 ends. */
export function runLengthDecode(input: Uint8Array, maxBytes: number): Buffer | null {
  let out = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(1024, input.length * 2)));
  let total = 0;
  const reserve = (count: number): boolean => {
    if (total + count > maxBytes) return false;
    if (total + count > out.length) {
      const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(out.length * 2, total + count)));
      out.copy(grown, 0, 0, total);
      out = grown;
    }
    return true;
  };
  for (let i = 0; i < input.length; ) {
    const length = input[i++]!;
    if (length === 128) break;
    if (length < 128) {
      const run = input.subarray(i, i + length + 1);
      if (!reserve(run.length)) return null;
      out.set(run, total);
      total += run.length;
      i += length + 1;
    } else {
      if (i >= input.length) break;
      if (!reserve(257 - length)) return null;
      out.fill(input[i++]!, total, total + 257 - length);
      total += 257 - length;
    }
  }
  return out.subarray(0, total);
}

/** The size runLengthDecode's output would have, without writing it; null past `maxBytes`. */
export function runLengthDecodedSize(input: Uint8Array, maxBytes: number): number | null {
  let total = 0;
  for (let i = 0; i < input.length; ) {
    const length = input[i++]!;
    if (length === 128) break;
    if (length < 128) {
      total += Math.min(length + 1, input.length - i);
      i += length + 1;
    } else {
      if (i++ >= input.length) break;
      total += 257 - length;
    }
    if (total > maxBytes) return null;
  }
  return total;
}
