// The normalisation cache keeps a byte budget, not a number of entries: results of up to 27 MB each
// (data URLs) must not add up to gigabytes in a worker. Least recently used go first; a hit counts as a use.
import { describe, expect, it } from "vitest";
import { ByteLru } from "../../src/media/byte-lru.js";

const MB = 1024 * 1024;
const lru = (maxBytes: number) => new ByteLru<string>(maxBytes, (s) => s.length);

describe("the byte-capped LRU behind the media cache", () => {
  it("never holds more than its cap, dropping the least recently used first", () => {
    const cache = lru(10 * MB);
    for (let i = 0; i < 20; i++) {
      cache.set(`file${i}`, "x".repeat(3 * MB));
      expect(cache.bytes).toBeLessThanOrEqual(10 * MB);
    }
    expect(cache.size).toBe(3);
    expect(["file16", "file17", "file18", "file19"].map((k) => cache.get(k) !== undefined)).toEqual([false, true, true, true]);
  });

  it("a hit makes an entry the most recent, so it outlives entries stored after it", () => {
    const cache = lru(9);
    cache.set("a", "aaa");
    cache.set("b", "bbb");
    cache.set("c", "ccc");
    expect(cache.get("a")).toBe("aaa");
    cache.set("d", "ddd");
    expect([cache.get("a"), cache.get("b"), cache.get("c"), cache.get("d")]).toEqual(["aaa", undefined, "ccc", "ddd"]);
  });

  it("does not keep a value larger than the cap, and replacing a key counts its new size only", () => {
    const cache = lru(10);
    cache.set("small", "12345");
    cache.set("huge", "x".repeat(11));
    expect([cache.get("huge"), cache.get("small")]).toEqual([undefined, "12345"]);
    cache.set("small", "1234567");
    expect(cache.bytes).toBe(7);
  });
});
