// The normalisation cache is bounded by bytes (a worker must not hold gigabytes of data URLs) and drops
// the least recently used result first, so the files a conversation keeps sending are not read again.
// Observed through the opener: a cache miss reads the file again.
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileItem } from "@starling/protocol";
import { normalizeMessages } from "../../src/media/normalize.js";
import { mediaModel } from "./media-model.js";

/** The cap docs/SECURITY.md "Media files" states (normalize.ts NORMALIZED_CACHE_BYTES). */
const CACHE_BYTES = 64 * 1024 * 1024;

let dir: string;
let photoBase64Chars = 0;
const opened = new Map<string, number>();
const countingOpen = (abs: string) => {
  opened.set(abs, (opened.get(abs) ?? 0) + 1);
  return open(abs, "r");
};
const config = mediaModel({ capabilities: ["chat", "image_in"] });
const photo = (n: number): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, `photo${n}.jpg`)).href, name: `photo${n}.jpg`, mediaType: "image/jpeg" });
const reads = (n: number) => opened.get(join(dir, `photo${n}.jpg`)) ?? 0;
const send = (n: number) => normalizeMessages(config, [{ index: 0, role: "user", time: "2026-01-01T00:00:00Z", content: [photo(n)] }], countingOpen);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-media-cache-"));
  const bytes = await sharp(randomBytes(2000 * 1500 * 3), { raw: { width: 2000, height: 1500, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  photoBase64Chars = Math.ceil(bytes.length / 3) * 4;
  // The same pixels under many names: each name is its own cache entry.
  await Promise.all(Array.from({ length: 40 }, (_, n) => writeFile(join(dir, `photo${n}.jpg`), bytes)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the media normalisation cache", () => {
  it("keeps at most its byte cap of results, dropping the least recently used; a hit counts as a use", async () => {
    const fit = Math.floor(CACHE_BYTES / photoBase64Chars);
    expect(fit, "the test's photos are large enough to fill the cache in a few").toBeLessThan(40);
    for (let n = 0; n < fit; n++) await send(n);
    await send(0); // a hit: photo 0 becomes the most recent, photo 1 the least
    expect(reads(0)).toBe(1);
    await send(fit); // one more than fits: the least recently used goes
    await send(0);
    await send(1);
    expect({ photo0: reads(0), photo1: reads(1) }).toEqual({ photo0: 1, photo1: 2 });
  });
});
