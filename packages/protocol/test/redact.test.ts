// The value-based redactor: every secret value and its common encodings become [redacted:NAME].
import { describe, expect, it } from "vitest";
import { createRedactor, NO_REDACTION, secretDigest } from "../src/index.js";

const KEY = "sk-live-9f8e7d6c5b4a3210/+?=&";
const TOKEN = "123456:AAbbCCddEEffGGhh";

describe("createRedactor", () => {
  const r = createRedactor({ OPENAI_API_KEY: KEY, TELEGRAM_BOT_TOKEN: TOKEN, EMPTY: "", SHORT: "ab" });

  it("replaces raw values by name, wherever they are", () => {
    expect(r.redact(`key=${KEY} token ${TOKEN}${TOKEN}`)).toBe(
      "key=[redacted:OPENAI_API_KEY] token [redacted:TELEGRAM_BOT_TOKEN][redacted:TELEGRAM_BOT_TOKEN]",
    );
    expect(r.names).toEqual(["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"]);
  });

  it("ignores empty and too-short values instead of shredding text", () => {
    expect(r.redact("a b ab abc")).toBe("a b ab abc");
  });

  it("catches URL-encoded and JSON-escaped forms", () => {
    expect(r.redact(`https://x/?k=${encodeURIComponent(KEY)}`)).toBe("https://x/?k=[redacted:OPENAI_API_KEY]");
    const q = createRedactor({ Q: 'pa"ss\\word' });
    expect(q.redact(JSON.stringify({ p: 'pa"ss\\word' }))).toBe('{"p":"[redacted:Q]"}');
  });

  it("catches base64 at any alignment inside a longer blob, standard and URL-safe", () => {
    for (const prefix of ["", "x", "xy", "xyz"]) {
      const blob = Buffer.from(`${prefix}Authorization: Bearer ${KEY}\n`).toString("base64");
      expect(r.redact(blob), `prefix ${JSON.stringify(prefix)}`).toContain("[redacted:OPENAI_API_KEY]");
      const url = Buffer.from(`${prefix}${KEY}`).toString("base64url");
      expect(r.redact(url)).toContain("[redacted:OPENAI_API_KEY]");
    }
  });

  it("replaces the longer secret whole when one value contains another", () => {
    const nested = createRedactor({ SHORTER: "abcdefgh", LONGER: "xxabcdefghxx" });
    expect(nested.redact("xxabcdefghxx abcdefgh")).toBe("[redacted:LONGER] [redacted:SHORTER]");
  });

  it("redacts deep JSON values, keys included, without touching the input", () => {
    const input = { a: [KEY, 1, null, { [TOKEN]: true }], b: "plain" };
    expect(r.redactDeep(input)).toEqual({
      a: ["[redacted:OPENAI_API_KEY]", 1, null, { "[redacted:TELEGRAM_BOT_TOKEN]": true }],
      b: "plain",
    });
    expect(input.a[0]).toBe(KEY);
  });

  it("NO_REDACTION leaves text alone", () => {
    expect(NO_REDACTION.redact(KEY)).toBe(KEY);
  });
});

describe("createRedactor with digests (secrets the process does not hold)", () => {
  const BOT = "7312345678:AAH4k9ZqLmNoPqRsTuVwXyZ0123456789ab";
  const digest = secretDigest("TELEGRAM_BOT_TOKEN", BOT)!;
  const r = createRedactor({ OPENAI_API_KEY: KEY }, [digest]);

  it("finds the secret by its hash inside words, URLs and lines, every time it occurs", () => {
    expect(r.redact(`TELEGRAM_BOT_TOKEN=${BOT}`)).toBe("TELEGRAM_BOT_TOKEN=[redacted:TELEGRAM_BOT_TOKEN]");
    expect(r.redact(`curl https://api.telegram.org/bot${BOT}/getMe and again ${BOT}.`)).toBe(
      "curl https://api.telegram.org/bot[redacted:TELEGRAM_BOT_TOKEN]/getMe and again [redacted:TELEGRAM_BOT_TOKEN].",
    );
    expect(r.redact(`${BOT}${BOT}`)).toBe("[redacted:TELEGRAM_BOT_TOKEN][redacted:TELEGRAM_BOT_TOKEN]");
    expect(r.redactDeep({ out: [`t ${BOT}`], key: KEY })).toEqual({ out: ["t [redacted:TELEGRAM_BOT_TOKEN]"], key: "[redacted:OPENAI_API_KEY]" });
    expect(r.names).toEqual(["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"]);
  });

  it("leaves look-alikes and ordinary text alone, and holds no form of the value", () => {
    const other = BOT.slice(0, -1) + "c";
    expect(r.redact(`${other} plain words: 1234:abcd`)).toBe(`${other} plain words: 1234:abcd`);
    expect(JSON.stringify(digest)).not.toContain(BOT.slice(11, 30));
  });

  it("gives no digest for a secret short enough to be guessed from its hash", () => {
    expect(secretDigest("PIN", "12345678901")).toBeNull();
    expect(secretDigest("OK", "123456789012")).not.toBeNull();
  });
});
